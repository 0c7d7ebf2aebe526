"""Walk a stretch of the ledger and say exactly where it was damaged.

For each entry: is its sequence number the next one (else entries were deleted), does it link to the entry
before (else one of the two was rewritten), do its stored fields hash to its stored hash, and does its time
not go backwards by more than the clock-skew tolerance. Each problem names the entry to blame — a link that
breaks after an intact entry blames the entry before it (its stored hash changed), a swapped or edited entry
blames itself — so one tampering is reported at one place.

Rows come in batches through the chain fast path (``ledger/chain_scan.py``): a row it clears is next in
sequence, linked and intact, so only its time order and CREATE bookkeeping are left to check here; every
other row gets the full per-row check below, which names and blames exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from bucket_governance.checks.integrity_records import (
    LOG_DELETION,
    SELECTIVE_OMISSION,
    TIMESTAMP_MANIPULATION,
    Problem,
    recorded_time,
)
from bucket_governance.db.tables import ledger_entries
from bucket_governance.ledger.canonical import GENESIS_HASH, CanonicalFormError, chain_hash
from bucket_governance.ledger.chain_scan import iter_chain_rows, scan_chain
from bucket_governance.ledger.stored import stored_canonical_bytes


class LoggedCreate(NamedTuple):
    """An allowed CREATE entry of the walked stretch: the artifact version it says must exist."""

    seq: int
    artifact_id: str
    version: int
    product_id: str | None
    recorded_at_us: int


@dataclass
class Walk:
    last_seq: int
    last_hash: str
    last_time_us: int | None
    entries_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    creates: list[LoggedCreate] = field(default_factory=list)
    _prev_damaged: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def anchor_of(conn: Connection, seq: int) -> tuple[int, str, int | None]:
    """(seq, entry hash, time) of the stored entry at or before ``seq``: where a walk can start."""
    if seq <= 0:
        return 0, GENESIS_HASH, None
    query = (
        select(ledger_entries.c.seq, ledger_entries.c.entry_hash, ledger_entries.c.recorded_at_us)
        .where(ledger_entries.c.seq <= seq)
        .order_by(ledger_entries.c.seq.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return (0, GENESIS_HASH, None) if row is None else (int(row.seq), str(row.entry_hash), int(row.recorded_at_us))


def walk(
    conn: Connection,
    *,
    after: tuple[int, str, int | None],
    skew_us: int,
    until_seq: int | None = None,
) -> Walk:
    """Check entries after the anchor ``after`` = (seq, entry hash, time) up to ``until_seq`` (default: head)."""
    state = Walk(last_seq=after[0], last_hash=after[1], last_time_us=after[2])
    for rows in iter_chain_rows(conn, after_seq=after[0]):
        if until_seq is not None and rows[-1].seq > until_seq:
            walk_rows(state, [row for row in rows if row.seq <= until_seq], skew_us)
            break
        walk_rows(state, rows, skew_us)
    return state


def walk_rows(state: Walk, rows: Sequence[Any], skew_us: int) -> None:
    """Check one batch of ``chain_scan.CHAIN_COLUMNS`` rows, in sequence order, after ``state``'s anchor."""
    suspects: set[int] = set()  # rows the fast path could not clear (by identity: the batch stays alive)
    scan_chain(rows, state.last_seq, state.last_hash, lambda row, _seq, _hash: suspects.add(id(row)))
    if not suspects:
        _check_cleared(state, rows, skew_us)
        return
    for row in rows:
        if id(row) in suspects:
            _check(state, row, skew_us)
        else:
            _check_cleared(state, (row,), skew_us)


def _check(state: Walk, row: Any, skew_us: int) -> None:
    hash_ok, recompute_note = _hash_matches(row)
    damaged = not hash_ok
    if row.seq != state.last_seq + 1:
        state.problems.append(_gap(state.last_seq, row))
    elif row.prev_hash != state.last_hash and not state._prev_damaged and hash_ok:
        # This entry is intact and still names the hash its predecessor had when it was chained: the
        # predecessor's stored hash was rewritten (to match edited fields, or to hide a swap).
        state.problems.append(_rewritten(state.last_seq, row, state.last_hash))
    if not hash_ok:
        state.problems.append(_mismatch(row, recompute_note))
    recorded_at_us = recorded_time(row)
    if state.last_time_us is not None and recorded_at_us is not None and recorded_at_us < state.last_time_us - skew_us:
        state.problems.append(_backwards(row, recorded_at_us, state.last_time_us, skew_us))
    if hash_ok:
        state.last_time_us = int(row.recorded_at_us)  # only trusted entries set the clock others are held to
        _collect_create(state.creates, row)
    state._prev_damaged = damaged
    state.entries_checked += 1
    state.last_seq, state.last_hash = int(row.seq), str(row.entry_hash)


def _check_cleared(state: Walk, rows: Sequence[Any], skew_us: int) -> None:
    """``_check`` for rows the fast path cleared: in sequence, linked, intact, ``int`` seq and time.

    Only time order and the CREATE bookkeeping are left; one loop with the state in locals (the hot path).
    """
    last_time_us = state.last_time_us
    floor = -(1 << 63) if last_time_us is None else last_time_us - skew_us
    problems, add_create, logged = state.problems, state.creates.append, LoggedCreate
    for row in rows:
        recorded_at_us = row.recorded_at_us
        if recorded_at_us < floor:
            problems.append(_backwards(row, recorded_at_us, floor + skew_us, skew_us))
        floor = recorded_at_us - skew_us
        # _collect_create inlined: a call per row would cost as much as the rest of this loop
        create = row.operation == "CREATE" and row.decision == "ALLOW"
        if create and row.artifact_id is not None and row.version is not None:
            add_create(logged(row.seq, row.artifact_id, row.version, row.product_id, recorded_at_us))
    if rows:
        last = rows[-1]
        state.last_time_us, state._prev_damaged = last.recorded_at_us, False
        state.entries_checked += len(rows)
        state.last_seq, state.last_hash = last.seq, last.entry_hash


def _hash_matches(row: Any) -> tuple[bool, str]:
    try:
        recomputed = chain_hash(row.prev_hash, stored_canonical_bytes(row))
    except (CanonicalFormError, ValueError, UnicodeError) as exc:
        return False, f"unreadable: {exc}"
    return recomputed == row.entry_hash, recomputed


def _gap(last_seq: int, row: Any) -> Problem:
    missing = [last_seq + 1, row.seq - 1]
    return Problem(
        LOG_DELETION,
        "sequence_gap",
        f"seq:{last_seq + 1}",
        {"missing_seqs": missing, "next_present_seq": int(row.seq)},
        seq=last_seq + 1,
        product_id=row.product_id,
        seen_us=recorded_time(row),
    )


def _rewritten(seq: int, row: Any, stored_hash: str) -> Problem:
    return Problem(
        SELECTIVE_OMISSION,
        "entry_rewritten",
        f"seq:{seq}",
        {"expected_entry_hash": row.prev_hash, "found_entry_hash": stored_hash, "linked_from_seq": int(row.seq)},
        seq=seq,
        seen_us=recorded_time(row),
    )


def _mismatch(row: Any, recomputed: str) -> Problem:
    return Problem(
        SELECTIVE_OMISSION,
        "hash_mismatch",
        f"seq:{row.seq}",
        {"expected_entry_hash": row.entry_hash, "found_entry_hash": recomputed},
        seq=int(row.seq),
        product_id=row.product_id,
        seen_us=recorded_time(row),
    )


def _backwards(row: Any, recorded_at_us: int, previous_us: int, skew_us: int) -> Problem:
    return Problem(
        TIMESTAMP_MANIPULATION,
        "time_backwards",
        f"seq:{row.seq}",
        {
            "recorded_at_us": recorded_at_us,
            "previous_recorded_at_us": previous_us,
            "backwards_us": previous_us - recorded_at_us,
            "tolerance_us": skew_us,
        },
        seq=int(row.seq),
        product_id=row.product_id,
        seen_us=recorded_at_us,
    )


def _collect_create(creates: list[LoggedCreate], row: Any) -> None:
    if (
        row.operation == "CREATE"
        and row.decision == "ALLOW"
        and row.artifact_id is not None
        and row.version is not None
    ):
        creates.append(
            LoggedCreate(int(row.seq), row.artifact_id, int(row.version), row.product_id, int(row.recorded_at_us))
        )
