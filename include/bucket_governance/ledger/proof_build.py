"""Build proof files from the database: inclusion of an entry or an artifact version, consistency of checkpoints.

A proof is always against a stored *signed* checkpoint (the newest one covering the entry, unless one is
named), so what the auditor receives is anchored to a signature, not to our word.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, select

from bucket_governance.db.tables import artifact_versions, ledger_entries
from bucket_governance.errors import InvalidInputError, NotFoundError
from bucket_governance.ledger.chain import entry_from_row
from bucket_governance.ledger.checkpoint_store import StoredCheckpoint, checkpoint_covering, get_checkpoint
from bucket_governance.ledger.merkle_tree import MerkleTree
from bucket_governance.ledger.proof_bundle import consistency_bundle, inclusion_bundle
from bucket_governance.ledger.tree_state import new_leaf_hashes

_CACHED_TREES = 2  # checkpoints whose whole tree is kept in memory (≈ 64 MB per million entries)
_trees: OrderedDict[tuple[int, str], MerkleTree] = OrderedDict()
_trees_lock = threading.Lock()


def checkpoint_tree(conn: Connection, stored: StoredCheckpoint) -> MerkleTree:
    """Every level of the tree ``stored`` signed, read and hashed once, then served from memory.

    The key is (tree size, signed root): equal keys mean equal leaves, whatever the database. A tree is
    kept only if the stored entries still hash to the signed root; otherwise it is rebuilt on each
    request, and its proofs fail verification, as they should.
    """
    key = (stored.tree_size, stored.root_hash)
    with _trees_lock:
        if key in _trees:
            _trees.move_to_end(key)
            return _trees[key]
    tree = MerkleTree(new_leaf_hashes(conn, 0, stored.tree_size))
    if tree.root().hex() == stored.root_hash:
        with _trees_lock:
            _trees[key] = tree
            while len(_trees) > _CACHED_TREES:
                _trees.popitem(last=False)
    return tree


def _checkpoint_for(conn: Connection, seq: int, checkpoint_id: int | None) -> StoredCheckpoint:
    stored = checkpoint_covering(conn, seq) if checkpoint_id is None else get_checkpoint(conn, checkpoint_id)
    if stored is None:
        raise NotFoundError(
            "checkpoint_missing",
            f"no signed checkpoint covers ledger entry {seq} yet: run `bucket-gov checkpoint`, then ask again",
        )
    if stored.tree_size < seq:
        raise InvalidInputError(
            "checkpoint_too_small", f"checkpoint {stored.checkpoint_id} has {stored.tree_size} entries, not {seq}"
        )
    return stored


def inclusion_for_seq(
    conn: Connection, seq: int, *, checkpoint_id: int | None = None, artifact: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The inclusion proof file of ledger entry ``seq``: O(log n) once the checkpoint's tree is cached."""
    if seq < 1:
        raise InvalidInputError("seq_invalid", f"ledger sequence numbers start at 1, got {seq}")
    row = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).first()
    if row is None:
        raise NotFoundError("entry_not_found", f"there is no ledger entry {seq}")
    stored = _checkpoint_for(conn, seq, checkpoint_id)
    path = checkpoint_tree(conn, stored).inclusion_proof(seq - 1)
    canonical = entry_from_row(row).canonical_bytes()
    return inclusion_bundle(canonical, seq, stored.tree_size, path, stored.signed_note, artifact)


def inclusion_for_artifact(
    conn: Connection, artifact_id: str, version: int, *, checkpoint_id: int | None = None
) -> dict[str, Any]:
    """The inclusion proof of the CREATE entry that recorded ``artifact_id`` version ``version``."""
    query = select(artifact_versions.c.ledger_seq).where(
        artifact_versions.c.artifact_id == artifact_id, artifact_versions.c.version == version
    )
    seq = conn.execute(query).scalar()
    if seq is None:
        raise NotFoundError("artifact_not_found", f"artifact {artifact_id!r} has no version {version}")
    artifact = {"artifact_id": artifact_id, "version": version}
    return inclusion_for_seq(conn, int(seq), checkpoint_id=checkpoint_id, artifact=artifact)


def consistency_between(conn: Connection, old_id: int, new_id: int) -> dict[str, Any]:
    """The consistency proof file from checkpoint ``old_id`` to the later checkpoint ``new_id``."""
    old, new = get_checkpoint(conn, old_id), get_checkpoint(conn, new_id)
    if old is None or new is None:
        missing = old_id if old is None else new_id
        raise NotFoundError("checkpoint_missing", f"there is no checkpoint {missing}")
    if old.tree_size > new.tree_size:
        raise InvalidInputError("checkpoint_order", f"checkpoint {old_id} is larger than {new_id}: swap them")
    if new.previous_size == old.tree_size:
        path = [bytes.fromhex(h) for h in new.consistency_proof]  # proven and stored when it was signed
    else:
        path = checkpoint_tree(conn, new).consistency_proof(old.tree_size)
    return consistency_bundle(old.signed_note, new.signed_note, path)
