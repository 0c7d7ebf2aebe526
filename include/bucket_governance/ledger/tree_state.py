"""The stored Merkle frontier: resume the tree where the last checkpoint left it.

Leaf ``i`` of the tree is the ledger entry with ``seq = i + 1`` (docs/ledger-format.md), hashed from the
*stored* columns, so a checkpoint commits to what the database holds. Advancing the frontier over ``k`` new
entries reads and hashes only those ``k`` rows; the consistency proof from the previous tree to the new one
is built from the stored border plus the new leaves — O(k + log n), never a rebuild from leaf 0.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from bucket_governance.db.tables_ledger import merkle_frontier
from bucket_governance.ledger.chain import iter_rows
from bucket_governance.ledger.merkle import MerkleFrontier, consistency_path, leaf_hash, subtree_root
from bucket_governance.ledger.stored import stored_canonical_bytes

FRONTIER_NAME = "ledger"


class LedgerGapError(ValueError):
    """The ledger is not a dense 1..n sequence where the frontier expects the next entry."""

    def __init__(self, expected_seq: int, found_seq: int | None) -> None:
        super().__init__(f"expected ledger entry {expected_seq}, found {found_seq if found_seq else 'none'}")
        self.expected_seq = expected_seq
        self.found_seq = found_seq


def row_leaf_hash(row: object) -> bytes:
    """The Merkle leaf of one stored ledger row."""
    return leaf_hash(stored_canonical_bytes(row))


def load_frontier(conn: Connection) -> MerkleFrontier:
    """The frontier saved at the last checkpoint (the empty tree before the first)."""
    text = conn.execute(select(merkle_frontier.c.border).where(merkle_frontier.c.name == FRONTIER_NAME)).scalar()
    return MerkleFrontier() if text is None else MerkleFrontier.from_json(text)


def save_frontier(conn: Connection, frontier: MerkleFrontier, now_us: int | None = None) -> None:
    now = now_us if now_us is not None else time.time_ns() // 1000
    values = {"tree_size": frontier.size, "border": frontier.to_json(), "updated_at_us": now}
    done = conn.execute(update(merkle_frontier).where(merkle_frontier.c.name == FRONTIER_NAME).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(merkle_frontier).values(name=FRONTIER_NAME, **values))


def new_leaf_hashes(conn: Connection, from_size: int, to_seq: int | None = None) -> list[bytes]:
    """Leaf hashes of entries ``from_size + 1 .. to_seq`` (default: the head), checking the run is dense."""
    leaves: list[bytes] = []
    expected = from_size + 1
    for row in iter_rows(conn, after_seq=from_size):
        if to_seq is not None and row.seq > to_seq:
            break
        if row.seq != expected:
            raise LedgerGapError(expected, row.seq)
        leaves.append(row_leaf_hash(row))
        expected += 1
    if to_seq is not None and expected <= to_seq:
        raise LedgerGapError(expected, None)
    return leaves


@dataclass(frozen=True)
class Extension:
    """The tree before and after appending ``new_leaves``, and the consistency proof between them."""

    old: MerkleFrontier
    new: MerkleFrontier
    proof: list[bytes]


def extend(old: MerkleFrontier, new_leaves: Sequence[bytes]) -> Extension:
    """Append ``new_leaves`` to a copy of ``old`` and prove the new tree consistent with the old one."""
    new = old.copy()
    new.extend(new_leaves)
    return Extension(old, new, consistency_from_frontier(old, new_leaves))


def consistency_from_frontier(old: MerkleFrontier, new_leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 PROOF(m, D[0:n]) from the old border and the ``n - m`` new leaves only.

    The walk of ``merkle.consistency_proof``: every subtree it needs either lies wholly in the old tree
    — then it is one of the border's perfect subtrees — or wholly among the new leaves ``[m, n)``.
    """
    m, n = old.size, old.size + len(new_leaves)
    if m in (0, n):
        return []
    border = _border_ranges(old)

    def root(start: int, end: int) -> bytes:
        if end <= m:
            return border[(start, end)]
        return subtree_root(new_leaves, start - m, end - m)

    return consistency_path(m, n, root)


def _border_ranges(frontier: MerkleFrontier) -> dict[tuple[int, int], bytes]:
    """The leaf range each border hash covers: one perfect subtree per set bit of the size, largest first."""
    ranges: dict[tuple[int, int], bytes] = {}
    start = 0
    sizes = [1 << bit for bit in range(frontier.size.bit_length() - 1, -1, -1) if frontier.size >> bit & 1]
    for width, value in zip(sizes, frontier.border, strict=True):
        ranges[(start, start + width)] = value
        start += width
    return ranges
