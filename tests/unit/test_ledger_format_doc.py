"""docs/ledger-format.md's worked example must be what the code computes (the doc cannot drift)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

import pytest

from bucket_governance.ledger.canonical import GENESIS_HASH, CanonicalFormError, LedgerEntry, canonical_json, chain_hash

pytestmark = pytest.mark.unit
DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger-format.md"

EXAMPLE = LedgerEntry(
    seq=1,
    recorded_at_us=1795838400000000,
    operation="CREATE",
    decision="ALLOW",
    reasons=(),
    actor_id="gurukul.engineer",
    integration_id="gurukul.gateway",
    product_id="gurukul",
    artifact_id="lesson-1",
    version=1,
    content_hash="2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    policy_fingerprint="8642658ac2c77116175150bf3b9ec1fd043bca3d766fbab0191938de9296fd10",
    details={"size_bytes": 5, "artifact_class": "ContentArtifact"},
)


def test_doc_example_matches_code() -> None:
    doc = DOC.read_text(encoding="utf-8")
    canonical = EXAMPLE.canonical_bytes()

    assert canonical.decode() in doc
    assert f"`entry_hash` = `{chain_hash(GENESIS_HASH, canonical)}`" in doc
    leaf = hashlib.sha256(bytes([0]) + canonical).hexdigest()
    assert f"leaf hash = `{leaf}`" in doc


def test_canonical_form_is_independent_of_key_order_and_refuses_floats() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, "é"], "c": None}}) == '{"a":{"c":null,"d":[1,"é"]},"b":1}'
    with pytest.raises(CanonicalFormError):
        canonical_json({"score": 0.5})
    assert re.fullmatch(r"[0-9a-f]{64}", chain_hash(GENESIS_HASH, b""))


def _reference_bytes(entry: LedgerEntry) -> bytes:
    """The definition in docs/ledger-format.md, written the slow, obvious way."""
    document = {name: getattr(entry, name) for name in LedgerEntry.__dataclass_fields__}
    document["reasons"] = list(entry.reasons)
    document["v"] = 1
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_hand_assembled_canonical_bytes_equal_the_definition_on_random_entries() -> None:
    rng = random.Random(9162)
    alphabet = ["a", "é", '"', "\\", "\n", "\x01", "漢", "😀", " ", "/", "\u2028"]

    def text() -> str | None:
        return None if rng.random() < 0.2 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))

    for seq in range(1, 2001):
        entry = LedgerEntry(
            seq=seq,
            recorded_at_us=rng.randint(0, 2**62),
            operation=rng.choice(["CREATE", "READ", "UPDATE"]),
            decision=rng.choice(["ALLOW", "DENY"]),
            reasons=tuple(rng.choice(["version_conflict", 'a"b', "é"]) for _ in range(rng.randint(0, 3))),
            actor_id=text(),
            integration_id=text(),
            product_id=text(),
            artifact_id=text(),
            version=rng.choice([None, rng.randint(1, 10**6)]),
            content_hash=text(),
            policy_fingerprint=text() or "",
            details={str(text()): rng.choice([None, 1, "x", [1, {"z": "é"}], True]) for _ in range(rng.randint(0, 4))},
        )
        assert entry.canonical_bytes() == _reference_bytes(entry), entry
