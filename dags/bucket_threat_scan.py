"""
### Bucket threat scan (every 15 minutes)

Runs the detection rules of SPEC §2 — ten threats, T1…T10 — over the run's data interval (the 15 minutes
before it), one mapped task per threat so each shows in the UI, then a summary task.

* Findings go to the governance database, upserted by fingerprint: re-running or back-filling a window
  updates findings instead of duplicating them (`bucket-gov findings list` shows them).
* A rule that depends on another pipeline (T3 from schema drift, T8 from audit integrity) reports
  "not evaluated" until that pipeline has covered the window — never a silent pass.
* A manual run may set `since` / `until` in the trigger form to scan another window (e.g. a whole history).
* The summary lists critical findings and the playbook each recommends, and is the `extra` of the
  `bucket_governance.threat_scan` Asset event.
* Each critical finding starts its playbook DAG (`bucket_playbook_f*`) with a prefilled form — once per
  playbook + subject: not while an incident of that playbook + subject is open, never twice for one finding.

Database: Airflow Connection `bucket_governance_db` (`extra.url`), else `BUCKET_GOV_DB_URL`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable

from bucket_governance_airflow.dag_defaults import governance_default_args
from bucket_governance_airflow.operators.playbook_starts import add_playbook_starts
from bucket_governance_airflow.operators.threat_scan import ThreatScanOperator, ThreatScanSummaryOperator
from bucket_governance_airflow.windows import window_params

THREAT_SCAN = Asset(name="bucket_governance.threat_scan", uri="x-bucket-governance://threat-scan")
THREATS = [f"T{n}" for n in range(1, 11)]

with DAG(
    dag_id="bucket_threat_scan",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="UTC", interval=timedelta(minutes=15)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,  # back-fill explicitly (`airflow backfill create`); every window is idempotent
    max_active_runs=2,
    default_args=governance_default_args(retry_delay=timedelta(minutes=1)),
    tags=["bucket-governance", "threat-scan"],
    params=window_params(),
):
    scans = ThreatScanOperator.partial(task_id="scan_threat").expand(threat=THREATS)
    summary = ThreatScanSummaryOperator(task_id="summarize", summaries=scans.output, outlets=[THREAT_SCAN])
    # One playbook run per critical finding's playbook + subject, with its form prefilled (none: no task).
    add_playbook_starts("threat_scan", summary.output)
