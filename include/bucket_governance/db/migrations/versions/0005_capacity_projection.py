"""capacity projection: daily usage history, run snapshots, projections per limit

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

_RUN_FK = "governance_runs.run_id"


def upgrade() -> None:
    op.create_table(
        "capacity_usage_daily",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bytes_stored", sa.BigInteger(), nullable=False),
        sa.Column("artifact_versions", sa.BigInteger(), nullable=False),
        sa.Column("bytes_added", sa.BigInteger(), nullable=False),
        sa.Column("versions_added", sa.BigInteger(), nullable=False),
        *[
            sa.Column(f"{kind}_rate_{stat}", sa.Float(), nullable=False)
            for kind in ("write", "read")
            for stat in ("p50", "p99", "max")
        ],
        sa.Column("concurrent_writers_max", sa.Integer(), nullable=False),
        sa.Column("computed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(64), sa.ForeignKey(_RUN_FK), nullable=True),
        sa.PrimaryKeyConstraint("scope", "day"),
    )
    op.create_index("ix_capacity_usage_day", "capacity_usage_daily", ["day"])
    op.create_table(
        "capacity_snapshots",
        sa.Column("run_id", sa.String(64), sa.ForeignKey(_RUN_FK), primary_key=True),
        sa.Column("as_of_us", sa.BigInteger(), nullable=False),
        sa.Column("first_day", sa.Integer(), nullable=True),
        sa.Column("last_day", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("pictures_dir", sa.Text(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "capacity_projections",
        sa.Column("run_id", sa.String(64), sa.ForeignKey(_RUN_FK), nullable=False),
        sa.Column("limit_name", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        *[
            sa.Column(name, sa.Float(), nullable=False)
            for name in ("current_value", "limit_value", "warning_level", "critical_level")
        ],
        sa.Column("safe_level", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.String(16), nullable=True),
        *[sa.Column(f"{p}_{h}", sa.Float(), nullable=True) for h in ("6m", "12m") for p in ("p10", "p50", "p90")],
        *[
            sa.Column(name, sa.Integer(), nullable=True)
            for name in ("days_to_warning", "days_to_critical", "days_to_critical_earliest", "days_to_critical_latest")
        ],
        sa.Column("fit", sa.Text(), nullable=False),
        sa.Column("top_contributors", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "limit_name", "scope"),
    )


def downgrade() -> None:
    op.drop_table("capacity_projections")
    op.drop_table("capacity_snapshots")
    op.drop_index("ix_capacity_usage_day", table_name="capacity_usage_daily")
    op.drop_table("capacity_usage_daily")
