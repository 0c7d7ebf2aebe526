"""RFC 9162 Merkle hashing, frontier and proofs: published vectors, exhaustive round trips, mutations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from typing import Any, overload

import pytest

from bucket_governance.ledger.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)

pytestmark = pytest.mark.unit

# --- published test vectors -----------------------------------------------------------------------
# Leaves, node hashes, roots and compact trees: transparency-dev/merkle testonly/constants.go
# https://github.com/transparency-dev/merkle/blob/582a6ad190b6848f1d26f8bf08ddef29955d9db1/testonly/constants.go
# (the same 8-leaf tree as google/certificate-transparency's merkle_tree_test.cc).
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
# ROOT_HASHES[size], sizes 0..8 (RootHashes() in constants.go).
ROOT_HASHES = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# NodeHashes() in constants.go: NODE[level][index].
NODE = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# CompactTrees() in constants.go: the frontier border at each size, as (level, index) into NODE.
COMPACT_BORDERS = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]
# (index, size, PATH): transparency-dev/merkle testonly/reference_test.go TestRefInclusionProof
# https://github.com/transparency-dev/merkle/blob/141d627eab770a7e9a2514f46a8b6338e6d90874/testonly/reference_test.go
# plus proof/verify_test.go inclusionProofs (1-based leaf there, 0-based here).
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 2, [NODE[0][1]]),
    (1, 2, [NODE[0][0]]),
    (2, 3, [NODE[1][0]]),
    (1, 5, [NODE[0][0], NODE[1][1], NODE[0][4]]),
    (0, 8, [NODE[0][1], NODE[1][1], NODE[2][1]]),
    (5, 8, [NODE[0][4], NODE[1][3], NODE[2][0]]),
    (1, 8, [NODE[0][0], NODE[1][1], NODE[2][1]]),
    (1, 5, [NODE[0][0], NODE[1][1], NODE[0][4]]),
]
# (old size, new size, PROOF): reference_test.go TestRefConsistencyProof and verify_test.go
# consistencyProofs (same commits as above).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, [NODE[0][1], NODE[1][1], NODE[2][1]]),
    (2, 5, [NODE[1][1], NODE[0][4]]),
    (6, 8, [NODE[1][2], NODE[1][3], NODE[2][0]]),
    (6, 7, [NODE[1][2], NODE[0][6], NODE[2][0]]),
]

MAX_SIZE = 70  # every tree size up to here is checked exhaustively
MUTATION_MAX_SIZE = 40  # mutation probes are many per proof; this keeps the module fast


def _h(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


def _known_leaves() -> list[bytes]:
    return [leaf_hash(entry) for entry in LEAF_INPUTS]


@cache
def _leaves() -> tuple[bytes, ...]:
    """Distinct leaf hashes for the exhaustive tests (one more than any test asks for)."""
    return tuple(leaf_hash(f"ledger entry {i}".encode()) for i in range(2 * MAX_SIZE + 2))


@cache
def _root(size: int) -> bytes:
    return root_from_leaf_hashes(_leaves()[:size])


def _flip(value: bytes, byte_index: int, bit: int) -> bytes:
    mutable = bytearray(value)
    mutable[byte_index] ^= 1 << bit
    return bytes(mutable)


def _flips(value: bytes) -> list[bytes]:
    """A flip at each end of the hash and one in the middle: every byte position class is hit."""
    return [_flip(value, 0, 0), _flip(value, 15, 4), _flip(value, 31, 7)]


# Independent descriptions of what a verifier computes, straight from the RFC's recursive definitions:
# two size claims the verifier cannot tell apart are exactly those with identical shapes.
def _inclusion_shape(index: int, size: int) -> tuple[str, ...]:
    if size <= 1:
        return ()
    split = 1 << ((size - 1).bit_length() - 1)
    if index < split:
        return (*_inclusion_shape(index, split), "sibling-right")
    return (*_inclusion_shape(index - split, size - split), "sibling-left")


def _consistency_shape(old: int, new: int, whole: bool = True, used: int = 0) -> tuple[Any, Any, int]:
    """(old root expression, new root expression, proof elements used), proof elements numbered in order."""
    if old == new:
        return ("old-root", "old-root", used) if whole else (used, used, used + 1)
    split = 1 << ((new - 1).bit_length() - 1)
    if old <= split:
        old_expr, new_expr, used = _consistency_shape(old, split, whole, used)
        return old_expr, (new_expr, used), used + 1
    old_expr, new_expr, used = _consistency_shape(old - split, new - split, False, used)
    return (used, old_expr), (used, new_expr), used + 1


# --- hashing and published roots ------------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert MerkleFrontier().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_use_the_rfc_prefixes() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert leaf_hash(b"").hex() == NODE[0][0]


def test_one_leaf_tree_root_is_the_leaf_hash() -> None:
    only = leaf_hash(b"the only entry")

    assert root_from_leaf_hashes([only]) == only
    assert subtree_root([only], 0, 1) == only


@pytest.mark.parametrize("size", range(len(ROOT_HASHES)))
def test_published_roots(size: int) -> None:
    leaves = _known_leaves()[:size]
    frontier = MerkleFrontier()
    frontier.extend(leaves)

    assert root_from_leaf_hashes(leaves).hex() == ROOT_HASHES[size]
    assert subtree_root(_known_leaves(), 0, size).hex() == ROOT_HASHES[size]
    assert frontier.root().hex() == ROOT_HASHES[size]


@pytest.mark.parametrize("size", range(len(COMPACT_BORDERS)))
def test_frontier_border_matches_published_compact_trees(size: int) -> None:
    frontier = MerkleFrontier()
    frontier.extend(_known_leaves()[:size])

    assert [h.hex() for h in frontier.border] == [NODE[lvl][i] for lvl, i in COMPACT_BORDERS[size]]


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_VECTORS)
def test_published_inclusion_proofs(index: int, size: int, expected: list[str]) -> None:
    leaves = _known_leaves()

    proof = inclusion_proof(index, leaves[:size])

    assert [p.hex() for p in proof] == expected
    assert verify_inclusion(index, size, leaves[index], proof, _h(ROOT_HASHES[size]))


@pytest.mark.parametrize(("old_size", "new_size", "expected"), CONSISTENCY_VECTORS)
def test_published_consistency_proofs(old_size: int, new_size: int, expected: list[str]) -> None:
    proof = consistency_proof(old_size, new_size, _known_leaves())

    assert [p.hex() for p in proof] == expected
    assert verify_consistency(old_size, new_size, _h(ROOT_HASHES[old_size]), _h(ROOT_HASHES[new_size]), proof)


def test_subtree_root_of_any_range_matches_the_reference() -> None:
    leaves = _leaves()[:20]

    for start in range(20):
        for end in range(start, 21):
            assert subtree_root(leaves, start, end) == root_from_leaf_hashes(leaves[start:end])


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (3, 2), (0, 21)])
def test_subtree_root_rejects_ranges_outside_the_tree(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        subtree_root(_leaves()[:20], start, end)


# --- frontier -------------------------------------------------------------------------------------


def test_frontier_root_equals_reference_root_at_every_size() -> None:
    frontier = MerkleFrontier()

    for size in range(MAX_SIZE + 1):
        assert frontier.size == size
        assert frontier.root() == _root(size)
        assert len(frontier.border) == size.bit_count()
        frontier.append(_leaves()[size])


def test_frontier_resumes_from_json_after_every_append() -> None:
    stored = MerkleFrontier().to_json()

    for size in range(MAX_SIZE):
        resumed = MerkleFrontier.from_json(stored)
        resumed.append(_leaves()[size])
        stored = resumed.to_json()
        assert MerkleFrontier.from_json(stored).root() == _root(size + 1)


def test_frontier_resumes_a_batch_without_touching_old_leaves() -> None:
    frontier = MerkleFrontier()
    frontier.extend(_leaves()[:37])
    row = json.loads(frontier.to_json())

    resumed = MerkleFrontier.from_dict(row)
    resumed.extend(_leaves()[37:MAX_SIZE])

    assert row == {"size": 37, "border": [h.hex() for h in frontier.border]}
    assert resumed.size == MAX_SIZE
    assert resumed.root() == _root(MAX_SIZE)
    assert frontier.size == 37  # from_dict built a new object, the stored one is unchanged


def test_frontier_copy_is_independent() -> None:
    frontier = MerkleFrontier()
    frontier.extend(_leaves()[:5])

    copied = frontier.copy()
    copied.append(_leaves()[5])

    assert frontier == MerkleFrontier.from_json(frontier.to_json())
    assert frontier.root() == _root(5)
    assert copied.root() == _root(6)


@pytest.mark.parametrize(
    "stored",
    [
        "[]",
        '{"size": 3}',
        '{"size": 3, "border": ["00"], "extra": 1}',
        '{"size": 3, "border": []}',
        '{"size": 1, "border": ["' + "ab" * 31 + '"]}',
        '{"size": 1, "border": ["zz' + "ab" * 31 + '"]}',
        '{"size": -1, "border": []}',
        '{"size": true, "border": ["' + "ab" * 32 + '"]}',
        '{"size": 1, "border": "' + "ab" * 32 + '"}',
        '{"size": "1", "border": ["' + "ab" * 32 + '"]}',
    ],
)
def test_frontier_from_json_rejects_malformed_rows(stored: str) -> None:
    with pytest.raises(ValueError):
        MerkleFrontier.from_json(stored)


def test_frontier_append_rejects_a_value_that_is_not_a_hash() -> None:
    frontier = MerkleFrontier()

    with pytest.raises(ValueError, match="32 bytes"):
        frontier.append(b"the entry bytes, not their leaf hash")
    assert frontier.size == 0


# --- inclusion proofs: every proof of every tree --------------------------------------------------


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_inclusion_proof_verifies(size: int) -> None:
    leaves = _leaves()[:size]

    for index in range(size):
        proof = inclusion_proof(index, leaves)
        assert len(proof) == len(_inclusion_shape(index, size))
        assert verify_inclusion(index, size, leaves[index], proof, _root(size))


def test_inclusion_proof_against_an_older_tree_size() -> None:
    leaves = _leaves()[:MAX_SIZE]

    proof = inclusion_proof(10, leaves, tree_size=33)

    assert proof == inclusion_proof(10, leaves[:33])
    assert verify_inclusion(10, 33, leaves[10], proof, _root(33))


@pytest.mark.parametrize(("index", "tree_size"), [(-1, None), (5, None), (0, 0), (3, 3), (0, 6)])
def test_inclusion_proof_rejects_impossible_requests(index: int, tree_size: int | None) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(index, _leaves()[:5], tree_size=tree_size)


def _inclusion_mutations(index: int, size: int, proof: list[bytes]) -> list[tuple[str, tuple[Any, ...]]]:
    leaf, root = _leaves()[index], _root(size)
    probes: list[tuple[str, tuple[Any, ...]]] = [
        ("index - 1", (index - 1, size, leaf, proof, root)),
        ("index + 1", (index + 1, size, leaf, proof, root)),
        ("index ^ 2", (index ^ 2, size, leaf, proof, root)),
        ("size * 2", (index, size * 2, leaf, proof, root)),
        ("size // 2", (index, size // 2, leaf, proof, root)),
        ("size + 1 with its root", (index, size + 1, leaf, proof, _root(size + 1))),
        ("size - 1 with its root", (index, size - 1, leaf, proof, _root(size - 1))),
        ("size * 2 with its root", (index, size * 2, leaf, proof, _root(size * 2))),
        ("size // 2 with its root", (index, size // 2, leaf, proof, _root(size // 2))),
        ("other leaf", (index, size, _leaves()[size], proof, root)),
        ("empty-tree root", (index, size, leaf, proof, EMPTY_ROOT)),
        ("trailing root", (index, size, leaf, [*proof, root], root)),
        ("preceding root", (index, size, leaf, [root, *proof], root)),
        ("trailing leaf", (index, size, leaf, [*proof, leaf], root)),
    ]
    # A one-leaf tree has an empty path and its leaf is its root: these would not change anything.
    if proof:
        probes += [
            ("leaf is the root", (index, size, root, proof, root)),
            ("duplicated last element", (index, size, leaf, [*proof, proof[-1]], root)),
            ("truncated", (index, size, leaf, proof[:-1], root)),
            ("first dropped", (index, size, leaf, proof[1:], root)),
        ]
    if len(proof) > 1:
        probes.append(("reversed", (index, size, leaf, proof[::-1], root)))
    probes += [(f"leaf flip {i}", (index, size, bad, proof, root)) for i, bad in enumerate(_flips(leaf))]
    probes += [(f"root flip {i}", (index, size, leaf, proof, bad)) for i, bad in enumerate(_flips(root))]
    for position, element in enumerate(proof):
        for flip, bad in enumerate(_flips(element)):
            changed = [*proof[:position], bad, *proof[position + 1 :]]
            probes.append((f"proof[{position}] flip {flip}", (index, size, leaf, changed, root)))
    return probes


@pytest.mark.parametrize("size", range(1, MUTATION_MAX_SIZE + 1))
def test_mutated_inclusion_proofs_are_rejected(size: int) -> None:
    for index in range(size):
        proof = inclusion_proof(index, _leaves()[:size])
        for name, args in _inclusion_mutations(index, size, proof):
            assert not verify_inclusion(*args), f"index {index}, size {size}: {name}"


@pytest.mark.parametrize("size", range(1, MUTATION_MAX_SIZE + 1))
def test_size_off_by_one_fails_unless_the_proof_shape_is_identical(size: int) -> None:
    """The tree size is bound to the root by the signed checkpoint, not by the path.

    RFC 9162 verification only uses the size to know which side each sibling is on, so for
    e.g. leaf 0 the trees of 3 and 4 leaves give the same computation and any conforming verifier
    accepts the claim with an unchanged root. With the root of that size (what a signed checkpoint
    provides) it is rejected, see ``test_mutated_inclusion_proofs_are_rejected``.
    """
    for index in range(size):
        proof, leaf = inclusion_proof(index, _leaves()[:size]), _leaves()[index]
        for claimed in (size - 1, size + 1):
            same_shape = index < claimed and _inclusion_shape(index, claimed) == _inclusion_shape(index, size)
            assert verify_inclusion(index, claimed, leaf, proof, _root(size)) is same_shape


def test_documented_example_of_an_indistinguishable_size() -> None:
    leaves = _known_leaves()
    proof_in_four = inclusion_proof(0, leaves[:4])

    assert verify_inclusion(0, 3, leaves[0], proof_in_four, _h(ROOT_HASHES[4]))
    assert not verify_inclusion(0, 3, leaves[0], proof_in_four, _h(ROOT_HASHES[3]))


# --- consistency proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize("new_size", range(0, MAX_SIZE + 1))
def test_every_consistency_proof_verifies(new_size: int) -> None:
    for old_size in range(0, new_size + 1):
        proof = consistency_proof(old_size, new_size, _leaves())
        expected_length = _consistency_shape(old_size, new_size)[2] if old_size else 0
        assert len(proof) == expected_length
        assert verify_consistency(old_size, new_size, _root(old_size), _root(new_size), proof)


@pytest.mark.parametrize(("old_size", "new_size"), [(-1, 3), (4, 3), (2, 200)])
def test_consistency_proof_rejects_impossible_requests(old_size: int, new_size: int) -> None:
    with pytest.raises(ValueError, match="old size"):
        consistency_proof(old_size, new_size, _leaves())


def _consistency_mutations(old: int, new: int, proof: list[bytes]) -> list[tuple[str, tuple[Any, ...]]]:
    r_old, r_new = _root(old), _root(new)
    probes: list[tuple[str, tuple[Any, ...]]] = [
        ("old - 1", (old - 1, new, r_old, r_new, proof)),
        ("old + 1", (old + 1, new, r_old, r_new, proof)),
        ("old ^ 2", (old ^ 2, new, r_old, r_new, proof)),
        ("old * 2", (old * 2, new, r_old, r_new, proof)),
        ("old // 2", (old // 2, new, r_old, r_new, proof)),
        ("new * 2", (old, new * 2, r_old, r_new, proof)),
        ("new // 2", (old, new // 2, r_old, r_new, proof)),
        ("old - 1 with its root", (old - 1, new, _root(old - 1), r_new, proof)),
        ("old + 1 with its root", (old + 1, new, _root(old + 1), r_new, proof)),
        ("new + 1 with its root", (old, new + 1, r_old, _root(new + 1), proof)),
        ("new - 1 with its root", (old, new - 1, r_old, _root(new - 1), proof)),
        ("swapped roots", (old, new, r_new, r_old, proof)),
        ("swapped sizes", (new, old, r_new, r_old, proof)),
        ("empty-tree old root", (old, new, EMPTY_ROOT, r_new, proof)),
        ("empty proof", (old, new, r_old, r_new, [])),
        ("trailing old root", (old, new, r_old, r_new, [*proof, r_old])),
        ("trailing new root", (old, new, r_old, r_new, [*proof, r_new])),
        ("preceding old root", (old, new, r_old, r_new, [r_old, *proof])),
        ("preceding new root", (old, new, r_old, r_new, [r_new, *proof])),
        ("preceding proof[0]", (old, new, r_old, r_new, [proof[0], *proof])),
        ("truncated", (old, new, r_old, r_new, proof[:-1])),
        ("first dropped", (old, new, r_old, r_new, proof[1:])),
    ]
    probes += [(f"old root flip {i}", (old, new, bad, r_new, proof)) for i, bad in enumerate(_flips(r_old))]
    probes += [(f"new root flip {i}", (old, new, r_old, bad, proof)) for i, bad in enumerate(_flips(r_new))]
    for position, element in enumerate(proof):
        for flip, bad in enumerate(_flips(element)):
            changed = [*proof[:position], bad, *proof[position + 1 :]]
            probes.append((f"proof[{position}] flip {flip}", (old, new, r_old, r_new, changed)))
    return probes


@pytest.mark.parametrize("new_size", range(2, MUTATION_MAX_SIZE + 1))
def test_mutated_consistency_proofs_are_rejected(new_size: int) -> None:
    for old_size in range(1, new_size):
        proof = consistency_proof(old_size, new_size, _leaves())
        for name, args in _consistency_mutations(old_size, new_size, proof):
            assert not verify_consistency(*args), f"{old_size} -> {new_size}: {name}"


@pytest.mark.parametrize("new_size", range(2, MUTATION_MAX_SIZE + 1))
def test_new_size_off_by_one_fails_unless_the_proof_shape_is_identical(new_size: int) -> None:
    for old_size in range(1, new_size):
        proof = consistency_proof(old_size, new_size, _leaves())
        roots = (_root(old_size), _root(new_size))
        for claimed in (new_size - 1, new_size + 1):
            same = claimed > old_size and _consistency_shape(old_size, claimed) == _consistency_shape(
                old_size, new_size
            )
            assert verify_consistency(old_size, claimed, *roots, proof) is same


def test_equal_sizes_need_equal_roots_and_an_empty_proof() -> None:
    root = _root(5)

    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, root, _root(6), [])
    assert not verify_consistency(5, 5, root, root, [root])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, root, root, [])


def test_old_size_zero_is_consistent_only_with_an_empty_proof_and_the_empty_root() -> None:
    assert verify_consistency(0, 9, EMPTY_ROOT, _root(9), [])
    assert not verify_consistency(0, 9, EMPTY_ROOT, _root(9), [_root(9)])
    assert not verify_consistency(0, 9, _root(1), _root(9), [])


def test_a_shrinking_tree_is_never_consistent() -> None:
    assert not verify_consistency(6, 5, _root(6), _root(5), [])
    assert not verify_consistency(6, 5, _root(6), _root(5), consistency_proof(5, 6, _leaves()))


# --- malformed input never raises -----------------------------------------------------------------

_ROOT5 = root_from_leaf_hashes(_leaves()[:5])
_GOOD_PROOF = inclusion_proof(2, _leaves()[:5])


@pytest.mark.parametrize(
    "args",
    [
        (None, 5, _leaves()[2], _GOOD_PROOF, _ROOT5),
        ("2", 5, _leaves()[2], _GOOD_PROOF, _ROOT5),
        (2.0, 5, _leaves()[2], _GOOD_PROOF, _ROOT5),
        (2, True, _leaves()[2], _GOOD_PROOF, _ROOT5),
        (-1, 5, _leaves()[2], _GOOD_PROOF, _ROOT5),
        (2, 2**70, _leaves()[2], _GOOD_PROOF, _ROOT5),
        (2, 5, _leaves()[2].hex(), _GOOD_PROOF, _ROOT5),
        (2, 5, _leaves()[2][:31], _GOOD_PROOF, _ROOT5),
        (2, 5, _leaves()[2], _GOOD_PROOF, _ROOT5 + b"\x00"),
        (2, 5, _leaves()[2], b"".join(_GOOD_PROOF), _ROOT5),
        (2, 5, _leaves()[2], [p.hex() for p in _GOOD_PROOF], _ROOT5),
        (2, 5, _leaves()[2], [*_GOOD_PROOF[:-1], None], _ROOT5),
        (2, 5, _leaves()[2], [*_GOOD_PROOF[:-1], b""], _ROOT5),
        (2, 5, _leaves()[2], None, _ROOT5),
        (2, 5, _leaves()[2], 7, _ROOT5),
        (0, 0, _leaves()[2], [], EMPTY_ROOT),
    ],
)
def test_verify_inclusion_returns_false_for_malformed_input(args: tuple[Any, ...]) -> None:
    assert verify_inclusion(2, 5, _leaves()[2], _GOOD_PROOF, _ROOT5)  # the unmangled original
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize(
    "args",
    [
        (None, 9, _root(3), _root(9), []),
        (3, "9", _root(3), _root(9), []),
        (False, 9, EMPTY_ROOT, _root(9), []),
        (3, 9, None, _root(9), []),
        (3, 9, _root(3), b"short", []),
        (3, 9, _root(3), _root(9), None),
        (3, 9, _root(3), _root(9), "not a proof"),
        (3, 9, _root(3), _root(9), [b"\x00" * 33]),
        (3, 9, _root(3), _root(9), [object()]),
    ],
)
def test_verify_consistency_returns_false_for_malformed_input(args: tuple[Any, ...]) -> None:
    assert verify_consistency(*args) is False


# --- lazily loaded leaves -------------------------------------------------------------------------


class _CountingLeaves(Sequence[bytes]):
    """A sequence that only supports single-item reads, like rows fetched on demand."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self._hashes = hashes
        self.reads: list[int] = []

    def __len__(self) -> int:
        return len(self._hashes)

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            raise TypeError("slicing would load every row")
        self.reads.append(index)
        return self._hashes[index]


def test_proofs_are_generated_from_single_item_reads() -> None:
    lazy = _CountingLeaves(_leaves()[:MAX_SIZE])

    proof = inclusion_proof(17, lazy)
    consistency = consistency_proof(20, MAX_SIZE, lazy)

    assert verify_inclusion(17, MAX_SIZE, _leaves()[17], proof, _root(MAX_SIZE))
    assert verify_consistency(20, MAX_SIZE, _root(20), _root(MAX_SIZE), consistency)


def test_subtree_root_reads_only_its_range() -> None:
    lazy = _CountingLeaves(_leaves()[:MAX_SIZE])

    subtree_root(lazy, 16, 32)

    assert sorted(lazy.reads) == list(range(16, 32))
