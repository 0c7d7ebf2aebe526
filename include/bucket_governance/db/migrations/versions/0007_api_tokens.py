"""api_tokens: bearer tokens per actor and integration, hashed at rest, rotatable and revocable

Revision ID: 0007
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("integration_id", sa.String(128), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_us", sa.BigInteger(), nullable=True),
        sa.Column("replaced_by", sa.String(32), nullable=True),
        sa.Column("issued_seq", sa.BigInteger(), nullable=False),
        sa.Column("revoked_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_api_tokens_actor", "api_tokens", ["actor_id", "created_at_us"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_actor", table_name="api_tokens")
    op.drop_table("api_tokens")
