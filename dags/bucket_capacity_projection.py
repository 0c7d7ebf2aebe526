"""
### Bucket capacity projection (daily)

Keeps a daily usage history per product and in total (bytes stored, artifact versions, write and read
rates per minute at p50 / p99 / max, concurrent writers), aggregated in SQL from the Bucket's tables, and
projects every limit that grows (SPEC §1: total storage, each product's quota, artifacts per product and in
total, write and read rates, concurrent writers) 6 and 12 months ahead with a P10–P90 band, days until the
warning (90 %) and critical (99 %) levels, and fit quality — `UNPREDICTABLE` when the trend does not fit.
Each run covers the day before it (its data interval): it rewrites that day's history rows (and fills any
missing earlier day), one `governance_runs` row (pipeline `capacity_projection`), one snapshot and one
projection row per limit — re-running a day rewrites the same rows.

* The task returns a small summary (status per limit, breaches within 12 months, `f8_candidates`) and
  emits it on the `bucket_governance.capacity` Asset; one PNG per product and one for the total go to
  `$BUCKET_GOV_VAR_DIR/capacity/`.
* A CRITICAL limit of a product starts the F8 playbook (`bucket_playbook_f8`, halts that product's writes
  only) with a prefilled form — once: not while an F8 incident of that product is open, never twice for one
  run of a day (run id `autostart__capacity.<run_id>.<product>`). The total's limits start nothing.
* WARNING / CRITICAL limits are results, not failures (run status `findings`); see docs/capacity.md.
* Database unreachable → ordinary task failure, retried twice.

Database: Airflow Connection `bucket_governance_db` (`extra.url` = SQLAlchemy URL), else `BUCKET_GOV_DB_URL`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable

from bucket_governance_airflow.dag_defaults import governance_default_args
from bucket_governance_airflow.operators.capacity import CapacityProjectionOperator
from bucket_governance_airflow.operators.playbook_starts import add_playbook_starts

CAPACITY = Asset(name="bucket_governance.capacity", uri="x-bucket-governance://capacity")

with DAG(
    dag_id="bucket_capacity_projection",
    doc_md=__doc__,
    # Daily at midnight UTC; each run's data interval is the whole UTC day before it (the run's idempotency key),
    # so a run rewrites exactly one day of history.
    schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=governance_default_args(retry_delay=timedelta(minutes=5)),
    tags=["bucket-governance", "capacity-projection"],
):
    projection = CapacityProjectionOperator(task_id="project_capacity", outlets=[CAPACITY])
    add_playbook_starts("capacity_projection", projection.output)  # f8_candidates → F8 (none: skipped)
