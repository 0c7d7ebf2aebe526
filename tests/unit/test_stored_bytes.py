from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from bucket_governance.ledger.canonical import LedgerEntry
from bucket_governance.ledger.chain import entry_from_row
from bucket_governance.ledger.stored import stored_canonical_bytes

pytestmark = pytest.mark.unit


def _row(rng: random.Random) -> SimpleNamespace:
    text = lambda: rng.choice(["a", 'é\u2014"q"', "\\n", "x" * rng.randrange(40), "\U0001f600"])  # noqa: E731
    entry = LedgerEntry(
        seq=rng.randrange(1, 10**9),
        recorded_at_us=rng.randrange(10**16),
        operation=rng.choice(["CREATE", "READ"]),
        decision=rng.choice(["ALLOW", "DENY"]),
        reasons=tuple(text() for _ in range(rng.randrange(3))),
        actor_id=rng.choice([None, text()]),
        integration_id=text(),
        product_id=rng.choice([None, "gurukul"]),
        artifact_id=rng.choice([None, text()]),
        version=rng.choice([None, rng.randrange(100)]),
        content_hash=rng.choice([None, "ab" * 32]),
        policy_fingerprint="cd" * 32,
        details={text(): rng.choice([1, text(), None, [text()], {"k": text()}]) for _ in range(rng.randrange(4))},
    )
    _, reasons, details = entry.canonical_parts()
    return SimpleNamespace(**{**entry.__dict__, "reasons": reasons, "details": details})


def test_spliced_bytes_equal_the_reencoded_bytes_on_random_entries() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        row = _row(rng)
        assert stored_canonical_bytes(row) == entry_from_row(row).canonical_bytes()


def test_non_canonical_stored_text_changes_the_bytes() -> None:
    row = _row(random.Random(1))
    row.details = '{"a": 1}'  # parses to the same kind of value, but is not the text that was hashed

    assert stored_canonical_bytes(row) != entry_from_row(row).canonical_bytes()
