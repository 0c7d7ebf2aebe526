"""docs/ledger-format.md's worked example must be what the code computes (the doc cannot drift)."""

from __future__ import annotations

import hashlib
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
