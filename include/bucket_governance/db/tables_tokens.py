"""API bearer tokens per actor and integration (results, mutable): only a hash of each secret is kept.

A token reads ``bgt_<token_id>_<secret>``. The row is found by ``token_id`` (primary key, one indexed lookup
per request) and the secret checked against ``secret_sha256`` in constant time. The secret is 32 random
bytes, so a plain SHA-256 is enough: there is nothing to brute-force that a slow hash would protect.
Rows change only to close a token: ``revoked_at_us`` (revoke) or an earlier ``expires_at_us`` with
``replaced_by`` (rotation with a grace period); issue, rotation and revocation are each a ledger entry
whose sequence number is kept here.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table

from bucket_governance.db.tables import metadata

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("integration_id", String(128), nullable=False),
    Column("product_id", String(64), nullable=False),  # the integration's product when issued
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("revoked_at_us", BigInteger),
    Column("replaced_by", String(32)),  # the token that rotated this one out
    Column("issued_seq", BigInteger, nullable=False),
    Column("revoked_seq", BigInteger),
)
Index("ix_api_tokens_actor", api_tokens.c.actor_id, api_tokens.c.created_at_us)
