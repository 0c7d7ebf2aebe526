"""Proof files and the offline verifier: every honest proof holds, every mutated one is rejected.

Also proves that the frontier-based consistency proof (O(k + log n), used when signing) is byte-identical
to the reference ``merkle.consistency_proof`` for every pair of sizes.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bucket_governance.ledger.canonical import LedgerEntry
from bucket_governance.ledger.checkpoint import Checkpoint, export_public_key, sign_checkpoint
from bucket_governance.ledger.merkle import (
    MerkleFrontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from bucket_governance.ledger.proof_bundle import consistency_bundle, inclusion_bundle, verify_bundle
from bucket_governance.ledger.tree_state import consistency_from_frontier

pytestmark = pytest.mark.unit

N = 33
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
NAME = "bucket-governance"
VKEY = export_public_key(KEY, NAME)
STAMP = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _entry(seq: int) -> bytes:
    return LedgerEntry(
        seq=seq,
        recorded_at_us=1_800_000_000_000_000 + seq,
        operation="CREATE",
        decision="ALLOW",
        reasons=(),
        actor_id="gurukul.engineer",
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_id=f"lesson-{seq}",
        version=1,
        content_hash="ab" * 32,
        policy_fingerprint="cd" * 32,
        details={"n": seq},
    ).canonical_bytes()


ENTRIES = [_entry(seq) for seq in range(1, N + 1)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def _signed(size: int, key: Ed25519PrivateKey = KEY) -> str:
    return sign_checkpoint(Checkpoint(NAME, size, root_from_leaf_hashes(LEAVES[:size]), STAMP), key, NAME)


def _inclusion(seq: int, size: int) -> dict[str, Any]:
    path = inclusion_proof(seq - 1, LEAVES, tree_size=size)
    return inclusion_bundle(ENTRIES[seq - 1], seq, size, path, _signed(size))


def _consistency(old: int, new: int) -> dict[str, Any]:
    return consistency_bundle(_signed(old), _signed(new), consistency_proof(old, new, LEAVES))


def test_frontier_consistency_proof_equals_the_reference_for_every_pair_of_sizes() -> None:
    for old in range(N + 1):
        frontier = MerkleFrontier()
        frontier.extend(LEAVES[:old])
        for new in range(old, N + 1):
            assert consistency_from_frontier(frontier, LEAVES[old:new]) == consistency_proof(old, new, LEAVES)


def test_every_inclusion_proof_for_every_tree_size_verifies() -> None:
    for size in range(1, N + 1):
        for seq in range(1, size + 1):
            check = verify_bundle(json.loads(json.dumps(_inclusion(seq, size))), [VKEY])
            assert check.ok, (seq, size, check.problem)


def test_every_consistency_proof_verifies() -> None:
    for old in range(1, N + 1):
        for new in range(old, N + 1, 3):
            assert verify_bundle(_consistency(old, new), [VKEY]).ok, (old, new)


def test_artifact_proof_names_the_version_its_entry_created() -> None:
    bundle = _inclusion(5, 9)
    bundle["artifact"] = {"artifact_id": "lesson-5", "version": 1}
    wrong = copy.deepcopy(bundle)
    wrong["artifact"] = {"artifact_id": "lesson-6", "version": 1}

    assert verify_bundle(bundle, [VKEY]).ok
    assert not verify_bundle(wrong, [VKEY]).ok


def _flip(hex_text: str, bit: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[bit // 8] ^= 1 << (bit % 8)
    return raw.hex()


def _inclusion_mutations(seq: int, size: int) -> list[tuple[str, dict[str, Any]]]:
    honest = _inclusion(seq, size)
    mutations: list[tuple[str, dict[str, Any]]] = []

    def mutate(label: str, **changes: Any) -> None:
        mutations.append((label, {**copy.deepcopy(honest), **changes}))

    for i, element in enumerate(honest["path"]):
        for bit in (0, 7, 100, 255):
            mutate(f"path[{i}] bit {bit}", path=[*honest["path"][:i], _flip(element, bit), *honest["path"][i + 1 :]])
    for new_size in {size + 1, size - 1, size * 2, size // 2} - {size}:
        if seq <= new_size <= N:  # honest checkpoints of other sizes
            mutate(f"size {new_size}", tree_size=new_size, checkpoint=_signed(new_size))
    if honest["path"]:
        mutate("truncated path", path=honest["path"][:-1])
    mutate("extended path", path=[*honest["path"], "00" * 32])
    other = (seq % size) + 1
    if other != seq:
        mutate("wrong leaf", entry_canonical_b64=_inclusion(other, size)["entry_canonical_b64"])
    mutate("wrong key", checkpoint=_signed(size, OTHER_KEY))
    altered = honest["checkpoint"].replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    mutate("altered checkpoint text", checkpoint=altered, tree_size=size + 1)
    mutate("altered readable entry", entry={**honest["entry"], "actor_id": "mallory"})
    return mutations


@pytest.mark.parametrize(("seq", "size"), [(1, 1), (1, 2), (2, 3), (5, 8), (6, 7), (13, 21), (33, 33)])
def test_mutated_inclusion_proofs_are_rejected(seq: int, size: int) -> None:
    assert verify_bundle(_inclusion(seq, size), [VKEY]).ok
    for label, bundle in _inclusion_mutations(seq, size):
        check = verify_bundle(bundle, [VKEY])
        assert not check.ok, f"{label} was accepted"
        assert check.problem


def test_every_bit_of_the_entry_bytes_matters() -> None:
    import base64

    honest = _inclusion(4, 10)
    raw = base64.b64decode(honest["entry_canonical_b64"])
    for index in range(0, len(raw), 7):
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        bundle = {**honest, "entry_canonical_b64": base64.b64encode(bytes(tampered)).decode()}
        assert not verify_bundle(bundle, [VKEY]).ok, index


@pytest.mark.parametrize(("old", "new"), [(1, 2), (3, 7), (4, 8), (6, 13), (16, 33)])
def test_mutated_consistency_proofs_are_rejected(old: int, new: int) -> None:
    honest = _consistency(old, new)
    cases: list[dict[str, Any]] = [
        {**honest, "old_checkpoint": honest["new_checkpoint"], "new_checkpoint": honest["old_checkpoint"]},
        {**honest, "path": honest["path"][:-1]},
        {**honest, "path": [*honest["path"], "11" * 32]},
        {**honest, "new_checkpoint": _signed(new - 1 if new == N else new + 1)},
        {**honest, "old_checkpoint": _signed(old, OTHER_KEY)},
    ]
    for i, element in enumerate(honest["path"]):
        cases.append({**honest, "path": [*honest["path"][:i], _flip(element, 3), *honest["path"][i + 1 :]]})
    assert verify_bundle(honest, [VKEY]).ok
    for i, bundle in enumerate(cases):
        assert not verify_bundle(bundle, [VKEY]).ok, i


def test_rotated_keys_keep_old_proofs_verifiable_with_the_old_public_key() -> None:
    old_bundle = _inclusion(3, 5)
    new_bundle = {**_inclusion(3, 5), "checkpoint": _signed(5, OTHER_KEY)}
    both = [VKEY, export_public_key(OTHER_KEY, NAME)]

    assert verify_bundle(old_bundle, both).ok
    assert verify_bundle(new_bundle, both).ok
    assert not verify_bundle(new_bundle, [VKEY]).ok


@pytest.mark.parametrize("document", [None, [], {"type": "other"}, {"type": "inclusion"}, {"type": "consistency"}])
def test_malformed_documents_are_rejected_not_raised(document: Any) -> None:
    assert not verify_bundle(document, [VKEY]).ok
