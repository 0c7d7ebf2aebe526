"""Append-only guards: triggers refusing UPDATE, DELETE (and on SQLite REPLACE) on the Bucket's tables.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from bucket_governance.db.guards import drop_guard_statements, guard_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in guard_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_guard_statements(op.get_bind().dialect.name):
        op.execute(statement)
