"""``ThreatScanOperator``: run one threat's detection rules over the run's data interval.

Mapped once per threat (T1…T10) so the Airflow UI shows each threat as its own task instance. The operator
holds no logic: window + database + policy in, ``scan_window`` called, small summary out (XCom).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook
from bucket_governance_airflow.operators.playbook_starts import PlaybookStartsOperator
from bucket_governance_airflow.windows import requested_window_us

__all__ = ["PlaybookStartsOperator", "ThreatScanOperator", "ThreatScanSummaryOperator"]  # starts: kept importable

if TYPE_CHECKING:
    from airflow.sdk import Context


class ThreatScanOperator(BaseOperator):
    """Evaluate the rules of ``threat`` (e.g. "T6") over the data interval and upsert their findings.

    :param threat: threat id T1…T10 whose rules to run.
    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    """

    template_fields: Sequence[str] = ("threat", "conn_id")
    ui_color = "#fdf1e6"

    def __init__(self, *, threat: str, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threat = threat
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.checks.threats.scan import scan_threat_window

        start_us, end_us = requested_window_us(context)
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            summary = scan_threat_window(hook.get_engine(), self.threat, window_start_us=start_us, window_end_us=end_us)
        finally:
            hook.dispose()
        self.log.info(
            "Threat %s over [%s, %s): %s rule(s) evaluated, not evaluated: %s, findings: %s",
            self.threat,
            start_us,
            end_us,
            summary["rules_evaluated"],
            summary["rules_not_evaluated"] or "none",
            summary["findings"],
        )
        return summary


class ThreatScanSummaryOperator(BaseOperator):
    """Combine the mapped threat scans: totals per threat, rules not evaluated, critical findings.

    Critical open findings are listed with the playbook each recommends (the playbook DAGs start them once
    they exist); the summary is also the ``extra`` of the Asset event this task emits.

    :param summaries: the mapped ``ThreatScanOperator`` results (an XComArg, resolved at run time).
    """

    template_fields: Sequence[str] = ("summaries", "conn_id")

    def __init__(self, *, summaries: Any, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summaries = summaries
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.checks.threats.scan import combine_summaries, critical_open_findings

        summaries = list(self.summaries)
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            ids = [fid for s in summaries for fid in s["finding_ids"]]
            critical = critical_open_findings(hook.get_engine(), ids)
        finally:
            hook.dispose()
        for finding in critical:
            self.log.warning(
                "CRITICAL %s on %s (%s): recommended playbook %s",
                finding["rule_id"],
                finding["subject"],
                finding["finding_id"],
                finding["playbook"],
            )
        summary = combine_summaries(summaries, [f["finding_id"] for f in critical])
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = summary
        return summary
