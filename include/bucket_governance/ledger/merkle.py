"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and an incremental frontier.

The ledger is an append-only list of entries; leaf ``i`` of the tree is ``leaf_hash(entry_i bytes)``.
Everything here is pure: no database, no I/O. Proof *generation* takes a sequence of leaf hashes
(a caller may pass a lazily loaded sequence); proof *verification* takes only hashes and sizes, so an
outside auditor can run it offline. Verifiers never raise on malformed input, they return ``False``.

Section numbers below refer to RFC 9162 (https://www.rfc-editor.org/rfc/rfc9162), which keeps the
RFC 6962 tree shape and hashes, so Certificate Transparency test vectors apply unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

HASH_SIZE = 32
# MTH({}) = SHA-256() (section 2.1.1): the root of the empty tree.
EMPTY_ROOT = hashlib.sha256(b"").digest()

# Domain separation between leaves and interior nodes (section 2.1.1) stops a forger from passing an
# interior node off as a leaf (second-preimage attack on the tree).
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry_bytes: bytes) -> bytes:
    """``SHA-256(0x00 || entry_bytes)``: the hash of one leaf."""
    return hashlib.sha256(_LEAF_PREFIX + entry_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    # bool is an int subclass; True as a tree size is a caller bug, not a size of 1.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _split_point(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (``k`` in section 2.1.1); size >= 2."""
    return 1 << ((size - 1).bit_length() - 1)


# --- tree heads ---------------------------------------------------------------------------------


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over all ``leaf_hashes``: the reference root, computed level by level.

    Pairing neighbours and carrying an odd last node up unchanged gives the same tree as the recursive
    definition of section 2.1.1. It is kept independent of ``MerkleFrontier`` so tests can cross-check.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of ``leaf_hashes[start:end]``, reading only the leaves in that range (in order)."""
    if not 0 <= start <= end <= len(leaf_hashes):
        raise ValueError(f"subtree range [{start}, {end}) is outside a tree of {len(leaf_hashes)} leaves")
    frontier = MerkleFrontier()
    for index in range(start, end):
        frontier.append(leaf_hashes[index])
    return frontier.root()


class MerkleFrontier:
    """The right border of the tree: roots of the perfect subtrees that cover leaves ``[0, size)``.

    There is one subtree per set bit of ``size``, largest (leftmost) first, so the state is at most
    ``log2(size) + 1`` hashes. Appending costs O(1) amortised and O(log n) at worst; the root is a fold
    of the border. Stored as JSON in a database row, it lets the next checkpoint resume after the last
    one: k new entries cost O(k + log n) hashes, never a rebuild from leaf 0.
    """

    __slots__ = ("_border", "_size")

    def __init__(self, size: int = 0, border: Iterable[bytes] = ()) -> None:
        hashes = list(border)
        if not _is_size(size):
            raise ValueError(f"frontier size must be a non-negative integer, got {size!r}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} holds {size.bit_count()} subtree hashes, got {len(hashes)}")
        if not all(_is_hash(h) for h in hashes):
            raise ValueError(f"frontier hashes must be {HASH_SIZE}-byte SHA-256 digests")
        self._size = size
        self._border = hashes

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def border(self) -> tuple[bytes, ...]:
        """Perfect-subtree roots, leftmost (largest) first."""
        return tuple(self._border)

    def append(self, leaf_hash_value: bytes) -> None:
        """Add one leaf hash (already ``leaf_hash(...)``-ed) at index ``size``."""
        if not _is_hash(leaf_hash_value):
            raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes")
        node = leaf_hash_value
        # Each trailing 1-bit of the old size is a perfect subtree of the same height as ``node``:
        # merge them, like a binary counter carrying.
        carry = self._size
        while carry & 1:
            node = node_hash(self._border.pop(), node)
            carry >>= 1
        self._border.append(node)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for value in leaf_hashes:
            self.append(value)

    def root(self) -> bytes:
        """MTH of the leaves appended so far: the border folded right to left."""
        if not self._border:
            return EMPTY_ROOT
        root = self._border[-1]
        for left in reversed(self._border[:-1]):
            root = node_hash(left, root)
        return root

    def copy(self) -> MerkleFrontier:
        return MerkleFrontier(self._size, self._border)

    def to_dict(self) -> dict[str, Any]:
        return {"size": self._size, "border": [h.hex() for h in self._border]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MerkleFrontier:
        """Rebuild a frontier from ``to_dict()``; raises ``ValueError`` when it is malformed."""
        if not isinstance(data, dict) or set(data) != {"size", "border"}:
            raise ValueError("a stored frontier must be an object with exactly 'size' and 'border'")
        border = data["border"]
        if not isinstance(border, list) or not all(isinstance(h, str) for h in border):
            raise ValueError("a stored frontier's 'border' must be a list of hex strings")
        return cls(data["size"], [bytes.fromhex(h) for h in border])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MerkleFrontier:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleFrontier):
            return NotImplemented
        return self._size == other._size and self._border == other._border

    def __repr__(self) -> str:
        return f"MerkleFrontier(size={self._size}, root={self.root().hex()})"


# --- inclusion proofs (section 2.1.3) -----------------------------------------------------------


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes], *, tree_size: int | None = None) -> list[bytes]:
    """PATH(index, D[0:tree_size]) of section 2.1.3.1, nearest sibling first.

    ``tree_size`` defaults to ``len(leaf_hashes)``; pass a smaller one to prove inclusion in an older
    signed tree head. Costs O(tree_size) hashes.
    """
    size = len(leaf_hashes) if tree_size is None else tree_size
    if not 0 <= size <= len(leaf_hashes):
        raise ValueError(f"tree size {size} is outside 0..{len(leaf_hashes)}")
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    return inclusion_path(index, size, lambda start, end: subtree_root(leaf_hashes, start, end))


def inclusion_path(index: int, size: int, root: Callable[[int, int], bytes]) -> list[bytes]:
    """The walk of PATH(index, D[0:size]) with subtree roots from ``root(start, end)``; checks done by callers.

    Shared by ``inclusion_proof`` (roots recomputed from leaves) and ``merkle_tree.MerkleTree`` (roots
    read from stored levels), so the two can only differ in how a subtree root is obtained.
    """
    # Walk down from the root, recording at each split the root of the half that does not hold the
    # leaf; PATH lists those siblings bottom-up, hence the final reversal.
    siblings_top_down: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split_point(end - start)
        if index < middle:
            siblings_top_down.append(root(middle, end))
            end = middle
        else:
            siblings_top_down.append(root(start, middle))
            start = middle
    return siblings_top_down[::-1]


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Section 2.1.3.2: does ``proof`` put ``leaf_hash`` at ``index`` of the tree (``size``, ``root``)?"""
    if not (_is_size(index) and _is_size(size) and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    if not _all_hashes(proof):
        return False
    if index >= size:
        return False
    computed = _root_from_inclusion_path(index, size, leaf_hash, proof)
    return computed is not None and computed == root


def _all_hashes(proof: object) -> bool:
    if isinstance(proof, (bytes, str)) or not isinstance(proof, Sequence):
        return False
    return all(_is_hash(element) for element in proof)


def _root_from_inclusion_path(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """Steps 2-5 of section 2.1.3.2; ``None`` when the path length does not fit the tree."""
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            return None  # more path elements than levels: a padded or forged path
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            # fn is the last node of its level: skip the levels where it has no right sibling.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None  # sn != 0: the path stopped short of the root


# --- consistency proofs (section 2.1.4) ---------------------------------------------------------


def consistency_proof(old_size: int, new_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) = SUBPROOF(old_size, D[0:new_size], true) of section 2.1.4.1.

    Empty when ``old_size`` is 0 or equals ``new_size``. Costs O(new_size) hashes.
    """
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise ValueError(f"need 0 <= old size ({old_size}) <= new size ({new_size}) <= leaves ({len(leaf_hashes)})")
    if old_size in (0, new_size):
        return []
    return consistency_path(old_size, new_size, lambda start, end: subtree_root(leaf_hashes, start, end))


def consistency_path(old_size: int, new_size: int, root: Callable[[int, int], bytes]) -> list[bytes]:
    """The walk of PROOF(old_size, D[0:new_size]) with roots from ``root(start, end)``; 0 < old < new."""
    # SUBPROOF recursion unrolled: each step appends one subtree root *after* the deeper proof, so we
    # collect top-down and reverse. ``old_is_whole`` is SUBPROOF's ``b`` flag: while the old tree is a
    # whole left subtree the verifier knows its root, so it is not repeated in the proof.
    top_down: list[bytes] = []
    start, end, remaining_old = 0, new_size, old_size
    old_is_whole = True
    while remaining_old != end - start:
        middle = start + _split_point(end - start)
        if start + remaining_old <= middle:
            top_down.append(root(middle, end))
            end = middle
        else:
            top_down.append(root(start, middle))
            remaining_old -= middle - start
            start = middle
            old_is_whole = False
    bottom = [] if old_is_whole else [root(start, end)]
    return bottom + top_down[::-1]


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Section 2.1.4.2: is the tree (``new_size``, ``new_root``) an append-only extension of the old one?

    Equal sizes need an empty proof and equal roots. An old size of 0 is consistent with any new tree,
    but only with an empty proof and only if ``old_root`` really is the empty-tree root.
    """
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if not _all_hashes(proof) or old_size > new_size:
        return False
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root and (old_size > 0 or old_root == EMPTY_ROOT)
    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT
    roots = _roots_from_consistency_path(old_size, new_size, old_root, proof)
    return roots is not None and roots == (old_root, new_root)


def _roots_from_consistency_path(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes] | None:
    """Steps 1-7 of section 2.1.4.2 for 0 < old_size < new_size: the (old, new) roots the proof implies."""
    if not proof:
        return None
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # A power-of-two old tree is a whole subtree of the new one; its root starts the path.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return (fr, sr) if sn == 0 else None
