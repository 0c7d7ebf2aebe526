"""schema drift: versioned metadata baselines and per-run drift results

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_baselines",
        sa.Column("baseline_id", sa.String(length=160), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("artifact_class", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("fields_sha256", sa.String(length=64), nullable=False),
        sa.Column("profiled_start_us", sa.BigInteger(), nullable=False),
        sa.Column("profiled_end_us", sa.BigInteger(), nullable=False),
        sa.Column("rows_profiled", sa.BigInteger(), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at_us", sa.BigInteger(), nullable=True),
        sa.Column("approval_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("baseline_id"),
        sa.UniqueConstraint("product_id", "artifact_class", "version", name="uq_drift_baseline_version"),
        sa.CheckConstraint("status IN ('proposed', 'current', 'superseded')", name="ck_drift_baseline_status"),
    )
    op.create_index("ix_drift_baselines_status", "drift_baselines", ["product_id", "artifact_class", "status"])
    op.create_table(
        "drift_results",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("artifact_class", sa.String(length=64), nullable=False),
        sa.Column("window_start_us", sa.BigInteger(), nullable=False),
        sa.Column("window_end_us", sa.BigInteger(), nullable=False),
        sa.Column("baseline_id", sa.String(length=160), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_validated", sa.BigInteger(), nullable=False),
        sa.Column("failing_fields", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("expectations_total", sa.Integer(), nullable=False),
        sa.Column("expectations_failed", sa.Integer(), nullable=False),
        sa.Column("data_docs", sa.Text(), nullable=True),
        sa.Column("evaluated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "product_id", "artifact_class"),
    )
    op.create_index("ix_drift_results_window", "drift_results", ["window_start_us", "window_end_us"])


def downgrade() -> None:
    op.drop_index("ix_drift_results_window", table_name="drift_results")
    op.drop_table("drift_results")
    op.drop_index("ix_drift_baselines_status", table_name="drift_baselines")
    op.drop_table("drift_baselines")
