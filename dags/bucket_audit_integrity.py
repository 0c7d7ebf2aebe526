"""
### Bucket audit integrity (hourly)

The tamper-evidence check of SPEC §3, incremental from the last verified point:

1. **Ledger**: sequence gaps, hash-chain links, every entry's hash, time order within the policy's
   `ledger_clock_skew_seconds`; the ledger never shorter than the last signed checkpoint.
2. **Artifacts ↔ ledger**, both ways: each artifact version is recorded by its CREATE entry (same
   content, metadata and provenance hashes), each CREATE entry has its version.
3. **Payloads** re-hashed against their content hashes; old entries, versions and payloads in rotating
   slices that cover everything within `rehash_period_runs` runs (default 24 = one day).
4. **Checkpoint**: a new Ed25519-signed Merkle checkpoint, proven consistent with the previous one —
   only when nothing is wrong.

Each run covers the hour before it (its data interval) and records one `governance_runs` row for that
window (pipeline `audit_integrity`), its problems in `integrity_problems`, and T8/T5 findings.

* **Clean** → returns a small summary (entries checked, checkpoint) and emits an event on the
  `bucket_governance.audit_integrity` Asset.
* **Tampering** → fails at once without retries; the findings name the sequence numbers, artifact
  versions and expected vs found hashes (`bucket-gov findings list`).
* **Database unreachable** → ordinary task failure, retried twice.
* **Playbooks**: whatever the verification's outcome, `plan_playbook_starts` (trigger rule `all_done`)
  reads the open T8 / `T5.direct_db_access` findings the run of this window recorded and starts F7 (one
  legal case per run, scoped to the affected products) / F1 (the actor of the affected entry) with
  prefilled forms — once: not while an incident of that playbook + subject is open, never twice for one
  finding. `fail_on_tampering` then keeps the DAG run failed.

A manual run may set `since` / `until` in the trigger form to record its run over another window.

Database: Airflow Connection `bucket_governance_db` (`extra.url` = SQLAlchemy URL), else `BUCKET_GOV_DB_URL`.
Signing key: `BUCKET_GOV_SIGNING_KEY_PATH` (default `var/keys/checkpoint-signing.key`, made by `bucket-gov init`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable

from bucket_governance_airflow.dag_defaults import governance_default_args
from bucket_governance_airflow.operators.integrity import AuditIntegrityOperator
from bucket_governance_airflow.operators.playbook_starts import UpstreamFailedOperator, add_playbook_starts
from bucket_governance_airflow.windows import window_params

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
    default_args=governance_default_args(retry_delay=timedelta(minutes=2)),
    tags=["bucket-governance", "audit-integrity"],
    params=window_params(),
):
    verify = AuditIntegrityOperator(task_id="verify_ledger_chain", outlets=[AUDIT_INTEGRITY])
    # Tampering fails `verify` (no XCom): the starts are planned from the findings its run recorded, after it
    # whatever its state; `verify` is then no leaf, so a one_failed leaf keeps the DAG run failed.
    verify >> add_playbook_starts("audit_integrity", trigger_rule="all_done")
    verify >> UpstreamFailedOperator(
        task_id="fail_on_tampering",
        trigger_rule="one_failed",  # AirflowFailException: never retried
        reason="verify_ledger_chain failed: see its log and `bucket-gov findings list` (playbooks were started).",
    )
