"""Tamper evidence: Merkle frontier, append-only signed checkpoints, integrity progress and problems.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bucket_governance.db.guards import drop_guard_statements, guard_statements
from bucket_governance.db.tables_ledger import LEDGER_IMMUTABLE_TABLES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merkle_frontier",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("border", sa.Text(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("checkpoint_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("key_name", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("signed_note", sa.Text(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("previous_size", sa.BigInteger(), nullable=False),
        sa.Column("consistency_proof", sa.Text(), nullable=False),
    )
    op.create_index("ix_ledger_checkpoints_size", "ledger_checkpoints", ["tree_size"])
    op.create_table(
        "integrity_progress",
        sa.Column("cursor", sa.String(length=32), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("position_hash", sa.String(length=64), nullable=True),
        sa.Column("position_key", sa.Text(), nullable=True),
        sa.Column("cycle_started_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "integrity_problems",
        sa.Column("problem_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(length=64), sa.ForeignKey("governance_runs.run_id"), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("detected_at_us", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.UniqueConstraint("run_id", "rule_id", "kind", "subject", name="uq_integrity_problem"),
    )
    op.create_index("ix_integrity_problems_run", "integrity_problems", ["run_id"])
    for statement in guard_statements(op.get_bind().dialect.name, LEDGER_IMMUTABLE_TABLES):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_guard_statements(op.get_bind().dialect.name, LEDGER_IMMUTABLE_TABLES):
        op.execute(statement)
    op.drop_index("ix_integrity_problems_run", table_name="integrity_problems")
    op.drop_table("integrity_problems")
    op.drop_table("integrity_progress")
    op.drop_index("ix_ledger_checkpoints_size", table_name="ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_table("merkle_frontier")
