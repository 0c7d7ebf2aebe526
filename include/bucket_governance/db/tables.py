"""SQLAlchemy Core tables for the Bucket (immutable) and the governance results (mutable).

Times are integer microseconds since the Unix epoch (UTC), named ``*_us``: exact on both dialects, so the
ledger's canonical bytes round-trip without timezone or precision surprises, and windows and buckets are
plain integer arithmetic in SQL (see docs/adr/0002-integer-microsecond-timestamps.md).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# -- the Bucket: append-only, guarded by triggers (db/guards.py) ---------------------------------------------

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False, unique=True),  # unique: two entries can never share a parent
    Column("entry_hash", String(64), nullable=False, unique=True),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("operation", String(32), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("reasons", Text, nullable=False),  # canonical JSON list of reason codes
    Column("actor_id", String(64)),
    Column("integration_id", String(64)),
    Column("product_id", String(64)),
    Column("artifact_id", String(128)),
    Column("version", Integer),
    Column("content_hash", String(64)),
    Column("policy_fingerprint", String(64), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON object
    CheckConstraint("seq >= 1", name="ck_ledger_seq_positive"),
    CheckConstraint("decision IN ('ALLOW', 'DENY')", name="ck_ledger_decision"),
)
Index("ix_ledger_recorded_at", ledger_entries.c.recorded_at_us)
Index("ix_ledger_product_time", ledger_entries.c.product_id, ledger_entries.c.recorded_at_us)
Index("ix_ledger_actor_time", ledger_entries.c.actor_id, ledger_entries.c.recorded_at_us)
Index("ix_ledger_artifact", ledger_entries.c.artifact_id, ledger_entries.c.version)

payloads = Table(
    "payloads",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("artifact_id", String(128), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("product_id", String(64), nullable=False),
    Column("artifact_class", String(64), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("integration_id", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("claimed_at_us", BigInteger),
    Column("content_hash", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("reference_url", Text),
    Column("metadata", Text, nullable=False),  # JSON object
    Column("provenance", Text, nullable=False),  # JSON object: source, intent, parents
    Column("schema_version", String(32), nullable=False),
    Column("ledger_seq", BigInteger, ForeignKey("ledger_entries.seq"), nullable=False, unique=True),
    CheckConstraint("version >= 1", name="ck_artifact_version_positive"),
)
Index("ix_artifact_product_time", artifact_versions.c.product_id, artifact_versions.c.created_at_us)
Index("ix_artifact_time", artifact_versions.c.created_at_us)

IMMUTABLE_TABLES: dict[str, tuple[str, ...]] = {
    # table -> every key that an INSERT OR REPLACE could collide on (SQLite guard)
    "ledger_entries": ("seq", "prev_hash", "entry_hash"),
    "payloads": ("content_hash",),
    "artifact_versions": ("artifact_id, version", "ledger_seq"),
}

# -- gate state: the controls playbooks place and lift (every change is also a ledger entry) -----------------

gate_controls = Table(
    "gate_controls",
    metadata,
    Column("control_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # freeze_actor | halt_product | legal_hold | quarantine | throttle
    Column("subject", String(128), nullable=False),  # actor id, product id, or artifact id
    Column("reason", Text, nullable=False),
    Column("placed_by", String(64), nullable=False),
    Column("placed_at_us", BigInteger, nullable=False),
    Column("placed_seq", BigInteger, nullable=False),
    Column("lifted_by", String(64)),
    Column("lifted_at_us", BigInteger),
    Column("lifted_seq", BigInteger),
    Column("parameters", Text, nullable=False, server_default="{}"),
)
Index("ix_gate_controls_active", gate_controls.c.kind, gate_controls.c.subject, gate_controls.c.lifted_at_us)

# Running totals per product, kept in the same transaction as each write so quota checks are O(1).
product_usage = Table(
    "product_usage",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("bytes_stored", BigInteger, nullable=False),
    Column("artifact_versions", BigInteger, nullable=False),
)

# -- governance results -------------------------------------------------------------------------------------

governance_runs = Table(
    "governance_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pipeline", String(64), nullable=False),
    Column("window_start_us", BigInteger, nullable=False),
    Column("window_end_us", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # running | clean | findings | failed
    Column("started_at_us", BigInteger, nullable=False),
    Column("finished_at_us", BigInteger),
    Column("summary", Text, nullable=False, server_default="{}"),
    Column("attempts", Integer, nullable=False, server_default="1"),
    UniqueConstraint("pipeline", "window_start_us", "window_end_us", name="uq_run_window"),
)

findings = Table(
    "findings",
    metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("rule_id", String(64), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("threat_id", String(8), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("product_id", String(64)),
    Column("subject", String(256), nullable=False),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("playbook", String(8)),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    Column("status_owner", String(64)),
    Column("suppressed_until_us", BigInteger),
    Column("last_run_id", String(64), ForeignKey("governance_runs.run_id")),
)
Index("ix_findings_rule_status", findings.c.rule_id, findings.c.status)
Index("ix_findings_product", findings.c.product_id, findings.c.last_seen_us)
