"""incidents: playbook incidents with one open incident per playbook + subject, and their timelines

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(32), primary_key=True),
        sa.Column("playbook", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("open_key", sa.String(300), nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.Column("closed_at_us", sa.BigInteger(), nullable=True),
        sa.Column("escalation_role", sa.String(64), nullable=False),
        sa.Column("escalation_due_us", sa.BigInteger(), nullable=True),
        sa.Column("escalated_at_us", sa.BigInteger(), nullable=True),
        sa.Column("trigger_count", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.Column("evidence_dir", sa.Text(), nullable=True),
        sa.Column("evidence_root", sa.String(64), nullable=True),
    )
    op.create_index("ix_incidents_status", "incidents", ["status", "opened_at_us"])
    op.create_table(
        "incident_events",
        sa.Column("event_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.incident_id"), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_incident_events_incident", "incident_events", ["incident_id", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_events_incident", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
