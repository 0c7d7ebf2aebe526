"""Schema-drift operators: list the policy's products, then check one product per mapped task instance.

The operators hold no logic: each resolves the window and the database and calls one library function of
``bucket_governance.checks.drift.pipeline``. Drift is a result (findings, not a task failure): the task
returns a small summary; database or validation errors propagate so Airflow's retries cover outages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook
from bucket_governance_airflow.windows import requested_window_us

if TYPE_CHECKING:
    from airflow.sdk import Context


class DriftProductsOperator(BaseOperator):
    """Return the policy's product ids — the list the drift check is mapped over, read at run time."""

    ui_color = "#eef6ea"

    def execute(self, context: Context) -> list[str]:
        from bucket_governance.checks.drift.pipeline import policy_product_ids

        products = policy_product_ids()
        self.log.info("Schema drift will check %s product(s): %s", len(products), ", ".join(products))
        return products


class SchemaDriftOperator(BaseOperator):
    """Validate one product's artifact metadata over the data interval against its approved baselines.

    :param product_id: the product to check (mapped from ``DriftProductsOperator``).
    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    """

    template_fields: Sequence[str] = ("product_id", "conn_id")
    ui_color = "#eef6ea"

    def __init__(self, *, product_id: str, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.product_id = product_id
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.checks.drift.pipeline import check_product_window

        start_us, end_us = requested_window_us(context)
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            summary = check_product_window(
                hook.get_engine(), self.product_id, window_start_us=start_us, window_end_us=end_us
            )
        finally:
            hook.dispose()
        self.log.info(
            "Schema drift of %s over [%s, %s): %s, %s change(s); Data Docs: %s",
            self.product_id,
            start_us,
            end_us,
            summary["status"],
            len(summary["changes"]),
            summary["data_docs"],
        )
        return summary


class SchemaDriftSummaryOperator(BaseOperator):
    """Combine the mapped product checks into one summary: the ``extra`` of the Asset event it emits.

    :param summaries: the mapped ``SchemaDriftOperator`` results (an XComArg, resolved at run time).
    """

    template_fields: Sequence[str] = ("summaries",)

    def __init__(self, *, summaries: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summaries = summaries

    def execute(self, context: Context) -> dict[str, Any]:
        summaries = list(self.summaries)
        summary = {
            "products": {s["product_id"]: s["status"] for s in summaries},
            "changes": sum(len(s["changes"]) for s in summaries),
            "finding_ids": sorted({f for s in summaries for f in s["finding_ids"]}),
            "data_docs": {s["product_id"]: s["data_docs"] for s in summaries},
        }
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = summary
        return summary
