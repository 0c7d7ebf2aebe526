"""
### Re-escalation of overdue incidents (every 15 minutes)

The escalation timers of SPEC §3, acted on. An incident still waiting for its human decision (status
`open`, `contained` or `awaiting_decision`) whose deadline has passed is re-escalated once:

* an `escalated` step on its timeline (actor `governance.escalation`, `overdue: true`, the escalation level);
* a notification through the playbooks' notifier: task log, governance database, and the webhook of the
  `bucket_governance_escalation` Connection when it exists;
* its next deadline: the playbook's deadline again from now, at least 15 minutes (so "immediate" deadlines
  are re-escalated every quarter of an hour, not at every sweep).

A second sweep never re-notifies the same deadline. The sweep runs as of the end of the run's data interval;
the same sweep from the command line: `bucket-gov incident escalate-overdue [--now ISO]`.

Database: Airflow Connection `bucket_governance_db` (`extra.url`), else `BUCKET_GOV_DB_URL`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, CronTriggerTimetable

from bucket_governance_airflow.dag_defaults import governance_default_args
from bucket_governance_airflow.operators.escalations import EscalateOverdueOperator

with DAG(
    dag_id="bucket_incident_escalations",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="UTC", interval=timedelta(minutes=15)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=governance_default_args(retry_delay=timedelta(minutes=1)),
    tags=["bucket-governance", "playbook", "escalation"],
):
    EscalateOverdueOperator(task_id="escalate_overdue")
