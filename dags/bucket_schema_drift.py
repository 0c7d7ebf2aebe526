"""
### Bucket schema drift (hourly)

Validates each product's new artifact metadata against its approved baseline with Great Expectations
(SPEC §3 "Schema drift"): field set, JSON types, nullability of required fields, declared allowed values.
One mapped task per product of the policy (the list is read at run time, not at parse time), then a
summary task that emits the `bucket_governance.schema_drift` Asset event.

* Each product × window is one `governance_runs` row (pipeline `schema_drift:<product>`) plus its
  `drift_results` rows: re-running a window replaces them; findings are upserted by fingerprint.
* Drift → T3 findings (`new_required_field`, `type_change`, `field_removal`), each classified additive or
  breaking, with first/last seen of the offending versions; playbook F10.
* Drift starts the F10 playbook (`bucket_playbook_f10`) for the drifting product, its form prefilled with
  the artifact class, the drifting fields and the sample artifact ids of the findings — once: not while an
  F10 incident of that product is open, never twice for one finding (run id `autostart__<finding_id>`).
* Baselines change only by approval: `bucket-gov drift baseline --product P --class C --approve --actor A`.
  This DAG never proposes or approves one.
* Data Docs: `$BUCKET_GOV_VAR_DIR/gx/<product>/gx/uncommitted/data_docs/local_site/index.html`.

Database: Airflow Connection `bucket_governance_db` (`extra.url`), else `BUCKET_GOV_DB_URL`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable

from bucket_governance_airflow.dag_defaults import governance_default_args
from bucket_governance_airflow.operators.drift import (
    DriftProductsOperator,
    SchemaDriftOperator,
    SchemaDriftSummaryOperator,
)
from bucket_governance_airflow.operators.playbook_starts import add_playbook_starts
from bucket_governance_airflow.windows import window_params

SCHEMA_DRIFT = Asset(name="bucket_governance.schema_drift", uri="x-bucket-governance://schema-drift")

with DAG(
    dag_id="bucket_schema_drift",
    doc_md=__doc__,
    # Hourly, each run's data interval being the hour before it: the window keys the run records.
    schedule=CronTriggerTimetable("@hourly", timezone="UTC", interval=timedelta(hours=1)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=governance_default_args(retry_delay=timedelta(minutes=2)),
    tags=["bucket-governance", "schema-drift"],
    params=window_params(),  # a manual run may check another window (since/until in the trigger form)
):
    products = DriftProductsOperator(task_id="list_products")
    checks = SchemaDriftOperator.partial(task_id="check_product").expand(product_id=products.output)
    summary = SchemaDriftSummaryOperator(task_id="summarize", summaries=checks.output, outlets=[SCHEMA_DRIFT])
    add_playbook_starts("schema_drift", summary.output)  # T3 findings → F10, de-duplicated (none: skipped)
