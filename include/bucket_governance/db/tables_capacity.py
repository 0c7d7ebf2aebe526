"""Tables of the capacity-projection pipeline (results, mutable): daily usage, run snapshots, projections.

``capacity_usage_daily`` grows by one row per scope (each product, and ``_total``) per UTC day; a run
recomputes the days of its window (and fills any missing earlier day) so re-running a window rewrites
the same rows. ``capacity_snapshots`` has one row per run, ``capacity_projections`` one per limit and
scope per run. Days are integer days since the epoch (``recorded_at_us // 86_400_000_000``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from bucket_governance.db.tables import metadata

capacity_usage_daily = Table(
    "capacity_usage_daily",
    metadata,
    Column("scope", String(64), primary_key=True),  # a product id, or "_total"
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("bytes_stored", BigInteger, nullable=False),  # cumulative at the end of the day
    Column("artifact_versions", BigInteger, nullable=False),  # cumulative at the end of the day
    Column("bytes_added", BigInteger, nullable=False),
    Column("versions_added", BigInteger, nullable=False),
    Column("write_rate_p50", Float, nullable=False),  # CREATE requests per second, per-minute buckets
    Column("write_rate_p99", Float, nullable=False),
    Column("write_rate_max", Float, nullable=False),
    Column("read_rate_p50", Float, nullable=False),  # READ requests per second, per-minute buckets
    Column("read_rate_p99", Float, nullable=False),
    Column("read_rate_max", Float, nullable=False),
    Column("concurrent_writers_max", Integer, nullable=False),  # distinct writing actors in one minute
    Column("computed_at_us", BigInteger, nullable=False),
    Column("run_id", String(64), ForeignKey("governance_runs.run_id")),
)
Index("ix_capacity_usage_day", capacity_usage_daily.c.day)

capacity_snapshots = Table(
    "capacity_snapshots",
    metadata,
    Column("run_id", String(64), ForeignKey("governance_runs.run_id"), primary_key=True),
    Column("as_of_us", BigInteger, nullable=False),
    Column("first_day", Integer),
    Column("last_day", Integer),
    Column("status", String(16), nullable=False),  # the worst status over all limits
    Column("summary", Text, nullable=False),  # JSON: counts per status, F8 candidates, pictures
    Column("pictures_dir", Text),
    Column("created_at_us", BigInteger, nullable=False),
)

capacity_projections = Table(
    "capacity_projections",
    metadata,
    Column("run_id", String(64), ForeignKey("governance_runs.run_id"), primary_key=True),
    Column("limit_name", String(64), primary_key=True),
    Column("scope", String(64), primary_key=True),
    Column("unit", String(16), nullable=False),
    Column("current_value", Float, nullable=False),
    Column("limit_value", Float, nullable=False),
    Column("warning_level", Float, nullable=False),
    Column("critical_level", Float, nullable=False),
    Column("safe_level", Float),
    Column("status", String(16), nullable=False),  # HEALTHY | WARNING | CRITICAL | UNPREDICTABLE
    Column("model", String(16)),
    Column("p10_6m", Float),
    Column("p50_6m", Float),
    Column("p90_6m", Float),
    Column("p10_12m", Float),
    Column("p50_12m", Float),
    Column("p90_12m", Float),
    Column("days_to_warning", Integer),  # P50 path; NULL = not within 12 months
    Column("days_to_critical", Integer),
    Column("days_to_critical_earliest", Integer),  # P90 path
    Column("days_to_critical_latest", Integer),  # P10 path
    Column("fit", Text, nullable=False),  # JSON: model weights, held-out errors, r2, phi, days
    Column("top_contributors", Text, nullable=False),  # JSON list, totals only
    Column("message", Text, nullable=False),
)
