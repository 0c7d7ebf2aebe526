"""Every level of a Merkle tree, built once, so many proofs against one tree cost O(log n) each.

``merkle.inclusion_proof`` recomputes the subtree roots it needs from the leaves: O(n) hashes per proof,
fine for one proof, not for an evidence bundle of hundreds or an API answering proof requests. A
:class:`MerkleTree` hashes the ``n`` leaves into their perfect subtrees once (n - 1 node hashes), then a
proof reads its siblings from the stored levels. Paths come from the same walks as ``merkle.py``
(``inclusion_path`` / ``consistency_path``), so both build byte-identical proofs (tests/unit/test_merkle_tree.py).

Each level is one ``bytes`` object of 32-byte hashes (2 × 32 bytes per leaf in all), not a list of
small objects: a million-leaf tree takes about 64 MB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bucket_governance.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_path,
    inclusion_path,
    node_hash,
)

_NODE_PREFIX = b"\x01"


class MerkleTree:
    """The RFC 9162 tree over ``leaf_hashes`` (already ``leaf_hash``-ed), for any tree size up to theirs."""

    __slots__ = ("_levels", "_memo", "_size")

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        level = b"".join(leaf_hashes)
        if len(level) != HASH_SIZE * len(leaf_hashes):
            raise ValueError(f"leaf hashes must be {HASH_SIZE}-byte SHA-256 digests")
        self._size = len(leaf_hashes)
        # Level h holds the roots of the aligned perfect subtrees of 2**h leaves, left to right.
        self._levels = [level]
        while len(level) >= 2 * HASH_SIZE:
            level = _parents(level)
            self._levels.append(level)
        self._memo: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return self._size

    def root(self, tree_size: int | None = None) -> bytes:
        """MTH of the first ``tree_size`` leaves (default: all)."""
        size = self._size if tree_size is None else tree_size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self.subtree_root(0, size)

    def subtree_root(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``: one stored node when the range is an aligned perfect subtree."""
        width = end - start
        if not 0 <= start < end <= self._size:
            raise ValueError(f"subtree range [{start}, {end}) is outside a tree of {self._size} leaves")
        if width & (width - 1) == 0 and start % width == 0:
            height = width.bit_length() - 1
            offset = (start >> height) * HASH_SIZE
            return self._levels[height][offset : offset + HASH_SIZE]
        key = (start, end)
        if key not in self._memo:  # the ragged right edge of a tree size: O(log n) of them per size
            split = 1 << ((width - 1).bit_length() - 1)
            self._memo[key] = node_hash(self.subtree_root(start, start + split), self.subtree_root(start + split, end))
        return self._memo[key]

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """Same result as ``merkle.inclusion_proof(index, leaves, tree_size=tree_size)``, in O(log n)."""
        size = self._size if tree_size is None else tree_size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
        return inclusion_path(index, size, self.subtree_root)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Same result as ``merkle.consistency_proof(old_size, new_size, leaves)``, in O(log n)."""
        new = self._size if new_size is None else new_size
        if not 0 <= old_size <= new <= self._size:
            raise ValueError(f"need 0 <= old size ({old_size}) <= new size ({new}) <= leaves ({self._size})")
        return [] if old_size in (0, new) else consistency_path(old_size, new, self.subtree_root)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is outside 0..{self._size}")


def _parents(level: bytes) -> bytes:
    """The next level up: node hashes of neighbouring pairs; an unpaired last node has no parent here."""
    sha256, prefix, pair = hashlib.sha256, _NODE_PREFIX, 2 * HASH_SIZE
    end = len(level) // pair * pair
    return b"".join([sha256(prefix + level[i : i + pair]).digest() for i in range(0, end, pair)])
