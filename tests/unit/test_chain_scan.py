"""The chain fast path clears honest rows and hands every altered or non-canonical row to the exact check."""

from __future__ import annotations

import random
from collections import namedtuple
from typing import Any

import pytest

from bucket_governance.ledger.canonical import GENESIS_HASH, LedgerEntry, chain_hash
from bucket_governance.ledger.chain_scan import CHAIN_COLUMNS, scan_chain
from bucket_governance.ledger.stored import stored_canonical_bytes
from bucket_governance.ledger.verify import _check_row

pytestmark = pytest.mark.unit

Row = namedtuple("Row", [c.name for c in CHAIN_COLUMNS])  # type: ignore[misc]


def _chain(count: int, seed: int = 7) -> list[Any]:
    rng = random.Random(seed)
    text = lambda: rng.choice(["a", 'é\u2014"q"', "\\n\t", "x" * rng.randrange(40), "\U0001f600", "%s{}"])  # noqa: E731
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        entry = LedgerEntry(
            seq=seq,
            recorded_at_us=rng.randrange(10**16),
            operation=rng.choice(["CREATE", "READ"]),
            decision=rng.choice(["ALLOW", "DENY"]),
            reasons=tuple(text() for _ in range(rng.randrange(3))),
            actor_id=rng.choice([None, text()]),
            integration_id=rng.choice([None, text()]),
            product_id=rng.choice([None, "gurukul", text()]),
            artifact_id=rng.choice([None, text()]),
            version=rng.choice([None, rng.randrange(100)]),
            content_hash=rng.choice([None, "ab" * 32]),
            policy_fingerprint=text(),
            details={text(): rng.choice([1, text(), None, [text()], {"k": text()}]) for _ in range(rng.randrange(4))},
        )
        canonical, reasons, details = entry.canonical_parts()
        entry_hash = chain_hash(prev, canonical)
        values = {**entry.__dict__, "reasons": reasons, "details": details, "prev_hash": prev, "entry_hash": entry_hash}
        rows.append(Row(**values))
        prev = entry_hash
    return rows


def _flagged(rows: list[Any]) -> list[int]:
    flagged: list[int] = []
    scan_chain(rows, 0, GENESIS_HASH, lambda row, _seq, _hash: flagged.append(row.seq))
    return flagged


def test_honest_rows_pass_and_the_anchor_moves_to_the_last_row() -> None:
    rows = _chain(400)
    assert _flagged(rows) == []
    assert scan_chain(rows, 0, GENESIS_HASH, lambda *_: None) == (400, rows[-1].entry_hash)
    assert all(stored_canonical_bytes(r) for r in rows)  # the same rows splice without error


# Each alteration: (field, new value). Type changes render the same text under a lax encoder (e.g. "7" for
# the integer 7, "1" for 1.0 after int()), so the fast path must refuse them by type, not by hash.
ALTERATIONS = [
    ("actor_id", "mallory"),
    ("operation", "DELETE"),
    ("decision", "DENY!"),
    ("details", '{"size_bytes": 1}'),  # same value, not the chained text
    ("reasons", "[]  "),
    ("recorded_at_us", 1),
    ("policy_fingerprint", 5),  # an integer where a string was
    ("artifact_id", 3),
    ("details", b"{}"),  # bytes, not text
    ("version", 1.0),
    ("seq", 50.0),
    ("content_hash", "\ud800"),  # lone surrogate: cannot be canonical UTF-8
]


@pytest.mark.parametrize(("field", "value"), ALTERATIONS)
def test_every_alteration_reaches_the_exact_check_at_its_row(field: str, value: Any) -> None:
    rows = _chain(120)
    original = rows[49]
    if field == "version" and original.version is None:
        rows[49] = original._replace(version=1)
        assert _flagged(rows)[0] == 50  # changing None to 1 is itself an alteration
    rows[49] = original._replace(**{field: value})
    flagged = _flagged(rows)
    assert flagged[0] == 50
    assert set(flagged) <= {50, 51}  # row 51 only when its anchor moved
    assert _check_row(rows[49], 49, rows[48].entry_hash)  # and the exact check finds a problem there


@pytest.mark.parametrize(
    ("damage", "first_flagged"),
    [("delete", 22), ("swap", 22), ("rehash", 21), ("bad_prev_hex", 21)],
)
def test_structural_damage_is_located(damage: str, first_flagged: int) -> None:
    rows = _chain(60)
    if damage == "delete":
        del rows[20]  # seq 21 missing: seq 22 comes next
    elif damage == "swap":
        rows[20], rows[21] = rows[21], rows[20]  # seq 22 now comes right after 20
    elif damage == "rehash":
        rows[20] = rows[20]._replace(entry_hash="f" * 64)
    else:
        rows[20] = rows[20]._replace(prev_hash="zz" * 32)
    assert _flagged(rows)[0] == first_flagged


def test_a_scan_resumed_from_a_stored_anchor_flags_nothing() -> None:
    """Near miss: starting after entry 40 with its stored hash is an honest anchor, not a gap."""
    rows = _chain(80)
    flagged: list[int] = []
    anchor = scan_chain(rows[40:], 40, rows[39].entry_hash, lambda row, _s, _h: flagged.append(row.seq))
    assert flagged == [] and anchor == (80, rows[-1].entry_hash)
    scan_chain(rows[40:], 40, rows[38].entry_hash, lambda row, _s, _h: flagged.append(row.seq))
    assert flagged == [41]  # the wrong anchor is caught at the first row
