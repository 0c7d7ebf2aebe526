"""Tables of the schema-drift pipeline: versioned metadata baselines and per-run drift results.

* ``drift_baselines`` — one row per (product, artifact class, version): the metadata schema learned from an
  approved window (fields with type, required, nullable, allowed values), its status
  (``proposed`` → ``current`` → ``superseded``) and, once approved, who approved it, when, and the ledger
  sequence number of the approval entry. A baseline's fields never change after it is written: re-baselining
  writes a new version.
* ``drift_results`` — what one drift run found for one product × class: status, the failing fields, each
  change with expected vs observed, counts, first/last seen of the offending versions and sample artifact
  ids. Keyed by (run, product, class), so re-running a window replaces its rows instead of adding to them.
  The T3 threat rules read these rows instead of re-validating.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, String, Table, Text, UniqueConstraint

from bucket_governance.db.tables import metadata

drift_baselines = Table(
    "drift_baselines",
    metadata,
    Column("baseline_id", String(160), primary_key=True),  # "<product>/<class>/v<version>"
    Column("product_id", String(64), nullable=False),
    Column("artifact_class", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("fields", Text, nullable=False),  # JSON list of field specs (see checks/drift/baselines.py)
    Column("fields_sha256", String(64), nullable=False),
    Column("profiled_start_us", BigInteger, nullable=False),
    Column("profiled_end_us", BigInteger, nullable=False),
    Column("rows_profiled", BigInteger, nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at_us", BigInteger, nullable=False),
    Column("approved_by", String(64)),
    Column("approved_at_us", BigInteger),
    Column("approval_seq", BigInteger),
    UniqueConstraint("product_id", "artifact_class", "version", name="uq_drift_baseline_version"),
    CheckConstraint("status IN ('proposed', 'current', 'superseded')", name="ck_drift_baseline_status"),
)
Index(
    "ix_drift_baselines_status",
    drift_baselines.c.product_id,
    drift_baselines.c.artifact_class,
    drift_baselines.c.status,
)

drift_results = Table(
    "drift_results",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("product_id", String(64), primary_key=True),
    Column("artifact_class", String(64), primary_key=True),
    Column("window_start_us", BigInteger, nullable=False),
    Column("window_end_us", BigInteger, nullable=False),
    Column("baseline_id", String(160)),
    Column("status", String(16), nullable=False),  # clean | drift | no_baseline | no_data
    Column("rows_validated", BigInteger, nullable=False),
    Column("failing_fields", Text, nullable=False),  # JSON list of field names
    Column("changes", Text, nullable=False),  # JSON list of change documents (expected vs observed, counts, …)
    Column("expectations_total", Integer, nullable=False),
    Column("expectations_failed", Integer, nullable=False),
    Column("data_docs", Text),
    Column("evaluated_at_us", BigInteger, nullable=False),
)
Index("ix_drift_results_window", drift_results.c.window_start_us, drift_results.c.window_end_us)
