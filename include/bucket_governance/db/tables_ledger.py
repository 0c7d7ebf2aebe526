"""Tables of the tamper-evidence layer: the Merkle frontier, signed checkpoints, integrity progress and problems.

* ``merkle_frontier`` — one row: the right border of the Merkle tree at the last checkpoint (``MerkleFrontier``
  as JSON), so the next checkpoint hashes only the entries appended since (O(k + log n)).
* ``ledger_checkpoints`` — append-only (guarded like the Bucket's tables): every signed checkpoint, with the
  consistency proof that links it to the one before.
* ``integrity_progress`` — one row per cursor: where the last clean incremental verification stopped
  (``ledger``: seq + entry hash) and where each rotating re-check continues (``rehash_entries``,
  ``rehash_payloads``, ``rehash_artifacts``).
* ``integrity_problems`` — what each audit-integrity run found, one row per (run, kind, subject); the T8/T5
  threat rules read these rows instead of re-detecting.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from bucket_governance.db.tables import metadata

merkle_frontier = Table(
    "merkle_frontier",
    metadata,
    Column("name", String(32), primary_key=True),  # "ledger"
    Column("tree_size", BigInteger, nullable=False),
    Column("border", Text, nullable=False),  # MerkleFrontier.to_json()
    Column("updated_at_us", BigInteger, nullable=False),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("checkpoint_id", Integer, primary_key=True, autoincrement=False),  # 1, 2, … (dense)
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),  # hex
    Column("key_name", String(64), nullable=False),
    Column("key_id", String(8), nullable=False),  # hex
    Column("signed_note", Text, nullable=False),  # the exact C2SP signed-note text
    Column("created_at_us", BigInteger, nullable=False),
    Column("previous_size", BigInteger, nullable=False),  # 0 for the first checkpoint
    Column("consistency_proof", Text, nullable=False),  # JSON list of hex hashes, previous → this one
)
Index("ix_ledger_checkpoints_size", ledger_checkpoints.c.tree_size)

LEDGER_IMMUTABLE_TABLES: dict[str, tuple[str, ...]] = {
    # table -> every key an INSERT OR REPLACE could collide on (see db/guards.py)
    "ledger_checkpoints": ("checkpoint_id",),
}

integrity_progress = Table(
    "integrity_progress",
    metadata,
    Column("cursor", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),  # a seq, or an offset into a keyset order
    Column("position_hash", String(64)),  # for "ledger": the entry hash at ``position``
    Column("position_key", Text),  # for keyset cursors over text keys (payload hash, artifact id/version)
    Column("cycle_started_at_us", BigInteger, nullable=False),  # when the current pass over everything began
    Column("updated_at_us", BigInteger, nullable=False),
)

integrity_problems = Table(
    "integrity_problems",
    metadata,
    Column("problem_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("governance_runs.run_id"), nullable=False),
    Column("rule_id", String(64), nullable=False),  # T8.log_deletion, T5.direct_db_access, …
    Column("kind", String(32), nullable=False),  # sequence_gap, hash_mismatch, version_without_entry, …
    Column("subject", String(256), nullable=False),  # "seq:42", "artifact:lesson-1@3", "payload:<hash>"
    Column("product_id", String(64)),
    Column("seq", BigInteger),
    Column("detected_at_us", BigInteger, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON object
    UniqueConstraint("run_id", "rule_id", "kind", "subject", name="uq_integrity_problem"),
)
Index("ix_integrity_problems_run", integrity_problems.c.run_id)
