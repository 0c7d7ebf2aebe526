"""``MerkleTree`` (levels built once) gives byte-identical proofs to the RFC 9162 definitions, in O(log n)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from bucket_governance.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from bucket_governance.ledger.merkle_tree import MerkleTree

pytestmark = pytest.mark.unit

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(1100)]
EDGE_SIZES = (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65)


# --- the recursive definitions of RFC 9162 section 2.1, written out literally as the reference ---------


def _k(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    return node_hash(_mth(d[: _k(len(d))]), _mth(d[_k(len(d)) :]))


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    return [*_path(m, d[:k]), _mth(d[k:])] if m < k else [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: Sequence[bytes], whole: bool) -> list[bytes]:
    if m == len(d):
        return [] if whole else [_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], whole), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


# --- identical to the reference and to the leaf-recomputing functions ---------------------------------


@pytest.mark.parametrize("size", [*range(1, 41), *EDGE_SIZES])
def test_every_inclusion_proof_is_byte_identical(size: int) -> None:
    tree = MerkleTree(LEAVES[:size])
    for index in range(size):
        expected = _path(index, LEAVES[:size])
        assert tree.inclusion_proof(index) == expected == inclusion_proof(index, LEAVES[:size])
    assert tree.root() == _mth(LEAVES[:size]) == root_from_leaf_hashes(LEAVES[:size])


def test_random_proofs_on_larger_non_power_of_two_trees() -> None:
    rng = random.Random(3)
    for size in (100, 513, 1000, 1023, 1025, 1100):
        tree = MerkleTree(LEAVES[:size])
        root = tree.root()
        for index in rng.sample(range(size), 12):
            proof = tree.inclusion_proof(index)
            assert proof == inclusion_proof(index, LEAVES[:size])
            assert verify_inclusion(index, size, LEAVES[index], proof, root)


def test_proofs_against_older_tree_sizes_from_one_tree() -> None:
    """A checkpoint's tree answers for any smaller tree size too (an older signed checkpoint)."""
    tree, rng = MerkleTree(LEAVES[:300]), random.Random(5)
    for size in [*EDGE_SIZES, *rng.sample(range(66, 300), 10)]:
        assert tree.root(size) == _mth(LEAVES[:size])
        for index in {0, size // 2, size - 1}:
            assert tree.inclusion_proof(index, size) == inclusion_proof(index, LEAVES, tree_size=size)


@pytest.mark.parametrize("new_size", [*range(1, 34), 64, 65, 100])
def test_every_consistency_proof_is_byte_identical(new_size: int) -> None:
    tree = MerkleTree(LEAVES[:new_size])
    for old_size in range(new_size + 1):
        proof = tree.consistency_proof(old_size)
        expected = [] if old_size in (0, new_size) else _subproof(old_size, LEAVES[:new_size], True)
        assert proof == expected == consistency_proof(old_size, new_size, LEAVES)
        old_root = tree.root(old_size)
        assert verify_consistency(old_size, new_size, old_root, tree.root(), proof)


def test_empty_tree_and_impossible_requests() -> None:
    empty = MerkleTree([])
    assert empty.root() == EMPTY_ROOT and empty.size == 0
    tree = MerkleTree(LEAVES[:5])
    for bad in (lambda: tree.inclusion_proof(5), lambda: tree.inclusion_proof(-1), lambda: tree.inclusion_proof(0, 6),
                lambda: tree.consistency_proof(4, 6), lambda: tree.consistency_proof(3, 2), lambda: tree.root(6),
                lambda: tree.subtree_root(2, 2), lambda: MerkleTree([b"short"])):  # fmt: skip
        with pytest.raises(ValueError):
            bad()
