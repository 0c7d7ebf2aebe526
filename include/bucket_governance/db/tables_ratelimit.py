"""The API's shared rate windows (mutable, short-lived): one counter per product, kind and window.

Every API process on the same governance database counts its granted requests here, so N processes
together allow a product its policy rate, not N times it. Not governance data and not append-only: rows
older than a minute are deleted as the API goes (``bucket_governance_api.ratelimit``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from bucket_governance.db.tables import metadata

api_rate_windows = Table(
    "api_rate_windows",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("kind", String(8), primary_key=True),  # read | write
    Column("window_start_us", BigInteger, primary_key=True),
    Column("granted", Integer, nullable=False),  # requests let through in this window
)
