"""Create, store and read signed checkpoints of the ledger (append-only table ``ledger_checkpoints``).

``create_checkpoint`` resumes the stored frontier, hashes only the entries appended since the last
checkpoint, signs the new tree head, proves it consistent with the previous one (and checks that proof
before storing anything), then saves checkpoint and frontier in one transaction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, func, insert, select

from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables_ledger import ledger_checkpoints
from bucket_governance.errors import GovernanceError
from bucket_governance.ledger.chain import ledger_head
from bucket_governance.ledger.checkpoint import Checkpoint, key_id, sign_checkpoint
from bucket_governance.ledger.merkle import EMPTY_ROOT, verify_consistency
from bucket_governance.ledger.tree_state import extend, load_frontier, new_leaf_hashes, save_frontier

DEFAULT_ORIGIN = "bucket-governance"


class CheckpointRefusedError(GovernanceError):
    """The ledger's current state cannot be checkpointed honestly (it shrank, or its frontier is off)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__("checkpoint_refused", message)


@dataclass(frozen=True)
class StoredCheckpoint:
    checkpoint_id: int
    tree_size: int
    root_hash: str  # hex
    key_name: str
    key_id: str
    signed_note: str
    created_at_us: int
    previous_size: int
    consistency_proof: tuple[str, ...]  # hex, from the previous checkpoint to this one

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "consistency_proof": list(self.consistency_proof)}


def _stored(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        checkpoint_id=int(row.checkpoint_id),
        tree_size=int(row.tree_size),
        root_hash=row.root_hash,
        key_name=row.key_name,
        key_id=row.key_id,
        signed_note=row.signed_note,
        created_at_us=int(row.created_at_us),
        previous_size=int(row.previous_size),
        consistency_proof=tuple(json.loads(row.consistency_proof)),
    )


def latest_checkpoint(conn: Connection) -> StoredCheckpoint | None:
    query = select(ledger_checkpoints).order_by(ledger_checkpoints.c.checkpoint_id.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else _stored(row)


def get_checkpoint(conn: Connection, checkpoint_id: int) -> StoredCheckpoint | None:
    row = conn.execute(select(ledger_checkpoints).where(ledger_checkpoints.c.checkpoint_id == checkpoint_id)).first()
    return None if row is None else _stored(row)


def checkpoint_covering(conn: Connection, seq: int) -> StoredCheckpoint | None:
    """The latest checkpoint whose tree holds entry ``seq`` (leaf ``seq - 1``)."""
    query = (
        select(ledger_checkpoints)
        .where(ledger_checkpoints.c.tree_size >= seq)
        .order_by(ledger_checkpoints.c.checkpoint_id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _stored(row)


def create_checkpoint(
    engine: Engine,
    private_key: Ed25519PrivateKey,
    key_name: str,
    *,
    origin: str = DEFAULT_ORIGIN,
    up_to_seq: int | None = None,
    now_us: int | None = None,
) -> StoredCheckpoint:
    """Sign the tree over entries ``1..up_to_seq`` (default: the head) and store it with its proof."""
    now = now_us if now_us is not None else time.time_ns() // 1000
    with engine.begin() as conn:
        lock_ledger(conn)  # one checkpointer at a time, and a stable head while we read it
        previous = latest_checkpoint(conn)
        old = load_frontier(conn)
        _check_frontier_matches(old, previous)
        head_seq, _ = ledger_head(conn)
        if head_seq < old.size:
            raise CheckpointRefusedError(
                f"the ledger ends at seq {head_seq}, below the last signed checkpoint of {old.size} entries: "
                "entries were deleted (T8.log_deletion); run `bucket-gov integrity` for the details"
            )
        extension = extend(old, new_leaf_hashes(conn, old.size, up_to_seq))
        new_root = extension.new.root()
        if not verify_consistency(old.size, extension.new.size, old.root(), new_root, extension.proof):
            raise CheckpointRefusedError("the new tree is not consistent with the previous checkpoint")
        checkpoint = Checkpoint(origin, extension.new.size, new_root, datetime.fromtimestamp(now / 1e6, UTC))
        stored = StoredCheckpoint(
            checkpoint_id=(previous.checkpoint_id if previous else 0) + 1,
            tree_size=extension.new.size,
            root_hash=new_root.hex(),
            key_name=key_name,
            key_id=key_id(key_name, private_key.public_key()).hex(),
            signed_note=sign_checkpoint(checkpoint, private_key, key_name),
            created_at_us=now,
            previous_size=old.size,
            consistency_proof=tuple(h.hex() for h in extension.proof),
        )
        conn.execute(insert(ledger_checkpoints).values(_row(stored)))
        save_frontier(conn, extension.new, now)
    return stored


def _row(stored: StoredCheckpoint) -> dict[str, Any]:
    return {**stored.__dict__, "consistency_proof": json.dumps(list(stored.consistency_proof))}


def _check_frontier_matches(frontier: Any, previous: StoredCheckpoint | None) -> None:
    """The mutable frontier row must describe exactly the last signed tree, or nothing can resume from it."""
    expected_size = previous.tree_size if previous else 0
    expected_root = bytes.fromhex(previous.root_hash) if previous else EMPTY_ROOT
    if frontier.size != expected_size or frontier.root() != expected_root:
        raise CheckpointRefusedError(
            f"the stored Merkle frontier (size {frontier.size}) does not match the last signed checkpoint "
            f"(size {expected_size}): it was altered outside the pipeline; investigate before signing again"
        )


def checkpoint_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ledger_checkpoints)).scalar_one())
