"""``AuditIntegrityOperator``: verify the ledger's hash chain over the run's data interval.

The operator holds no logic: it resolves the window and the database, calls
``bucket_governance.checks.integrity.run_chain_check`` and maps the outcome to task state — a broken
chain fails the task without retries (a finding does not go away by retrying), while database errors
propagate unchanged so Airflow's retries cover outages.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook

if TYPE_CHECKING:
    from airflow.sdk import Context


def to_us(moment: datetime) -> int:
    """Integer microseconds since the epoch (UTC), exact — no float rounding; naive means UTC.

    Integer arithmetic on the UTC fields rather than ``moment - epoch``: Airflow hands out pendulum
    datetimes, whose differences are pendulum intervals that do not divide by a timedelta.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return calendar.timegm(utc.timetuple()) * 1_000_000 + utc.microsecond


def window_us(context: Context) -> tuple[int, int]:
    """The run's data interval in microseconds, so re-runs and backfills of a window are idempotent.

    A manual run created without a logical date has no data interval; its moment (logical date, else
    ``run_after``) becomes a zero-length window, which still identifies the run.
    """
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None:
        return to_us(start), to_us(end)
    moment = to_us(context.get("logical_date") or context["dag_run"].run_after)
    return moment, moment


class AuditIntegrityOperator(BaseOperator):
    """Verify the audit ledger's hash chain; record a governance run; return its small summary (XCom).

    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    """

    template_fields: Sequence[str] = ("conn_id",)
    ui_color = "#e8f1fb"

    def __init__(self, *, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.checks.integrity import run_chain_check

        start_us, end_us = window_us(context)
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            result = run_chain_check(hook.get_engine(), window_start_us=start_us, window_end_us=end_us)
        finally:
            hook.dispose()
        summary = result.summary()
        self.log.info(
            "Audit integrity run %s over [%s, %s): %s, %s entries checked up to seq %s",
            result.run_id,
            start_us,
            end_us,
            result.status,
            result.entries_checked,
            result.last_seq,
        )
        if not result.ok:
            raise AirflowFailException(
                f"The audit ledger's hash chain is broken: first bad entry is seq {result.first_bad_seq} "
                f"({summary['problem_count']} problem(s); run {result.run_id}). This is a finding, not an "
                f"outage — investigate with `bucket-gov verify-ledger` before re-running."
            )
        self._annotate_asset_events(context, summary)
        return summary

    def _annotate_asset_events(self, context: Context, summary: dict[str, Any]) -> None:
        """Attach the summary to the Asset events this task emits, so consumers see what was verified."""
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = summary
