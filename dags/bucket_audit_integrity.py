"""
### Bucket audit integrity (hourly)

Verifies the Bucket's hash-chained audit ledger: every entry's sequence number, its link to the previous
entry and its own hash (SPEC §3 "Audit integrity"). Each run covers the hour before it (its data interval)
and records one `governance_runs` row for that window (pipeline `audit_integrity`) — status `clean` or
`findings` — so re-running a window updates that row instead of adding one.

* **Clean** → the task returns a small summary (entries checked, last seq) and emits an event on the
  `bucket_governance.audit_integrity` Asset.
* **Broken chain** → the task fails at once, without retries (tampering is a finding, not a transient
  error); the run row names the first bad sequence number. Investigate with `bucket-gov verify-ledger`.
* **Database unreachable** → ordinary task failure, retried twice.

Database: Airflow Connection `bucket_governance_db` (`extra.url` = SQLAlchemy URL), else `BUCKET_GOV_DB_URL`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable

from bucket_governance_airflow.operators.integrity import AuditIntegrityOperator

AUDIT_INTEGRITY = Asset(name="bucket_governance.audit_integrity", uri="x-bucket-governance://audit-integrity")

with DAG(
    dag_id="bucket_audit_integrity",
    doc_md=__doc__,
    # Hourly, and each run's data interval is the hour before it (a bare "@hourly" would give a zero-length
    # interval in Airflow 3): the window is the idempotency key of the run record.
    schedule=CronTriggerTimetable("@hourly", timezone="UTC", interval=timedelta(hours=1)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "governance",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
    },
    tags=["bucket-governance", "audit-integrity"],
):
    AuditIntegrityOperator(task_id="verify_ledger_chain", outlets=[AUDIT_INTEGRITY])
