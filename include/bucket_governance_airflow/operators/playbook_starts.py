"""Automatic playbook starts, shared by the pipelines: a planning task + a mapped ``TriggerDagRunOperator``.

``add_playbook_starts(source, summary)`` wires both into the DAG being defined: the planning task asks the
library (``incidents.autostart_sources.pipeline_starts``) which playbook runs the pipeline run calls for —
forms prefilled, de-duplicated by incident — and the trigger task is mapped over that list (an empty list
leaves it "skipped"). ``UpstreamFailedOperator`` keeps a DAG run failed when its failing task stopped being
a leaf because an ``all_done`` planning task follows it (audit integrity).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook
from bucket_governance_airflow.windows import requested_window_us

if TYPE_CHECKING:
    from airflow.sdk import Context


class PlaybookStartsOperator(BaseOperator):
    """The playbook runs a pipeline run calls for: ``{"trigger_dag_id", "trigger_run_id", "conf"}`` each.

    :param source: the pipeline — threat_scan, schema_drift, audit_integrity or capacity_projection.
    :param summary: that pipeline's summary (an XComArg, resolved at run time); None for audit_integrity,
        which reads the findings its run of the window recorded.
    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    """

    template_fields: Sequence[str] = ("source", "summary", "conn_id")
    ui_color = "#fbe9e9"

    def __init__(self, *, source: str, summary: Any = None, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.summary = summary
        self.conn_id = conn_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from bucket_governance.incidents.autostart_sources import pipeline_starts
        from bucket_governance.policy import load_policy
        from bucket_governance.settings import get_settings

        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            policy = load_policy(get_settings().policy_dir)
            window = requested_window_us(context)
            starts = pipeline_starts(hook.get_engine(), policy, self.source, self.summary, window)
        finally:
            hook.dispose()
        # A run already triggered for the result but not yet run has opened no incident: skip it here too.
        ti = context["ti"]
        starts = [s for s in starts if not ti.get_dr_count(s["trigger_dag_id"], run_ids=[s["trigger_run_id"]])]
        for start in starts:
            self.log.warning("Starting %s (%s) from %s", start["trigger_dag_id"], start["trigger_run_id"], self.source)
        return starts


class UpstreamFailedOperator(BaseOperator):
    """Fail, without retries, because an upstream task failed (use with ``trigger_rule="one_failed"``).

    :param reason: the sentence the failure carries.
    """

    template_fields: Sequence[str] = ("reason",)

    def __init__(self, *, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reason = reason

    def execute(self, context: Context) -> None:
        raise AirflowFailException(self.reason)


def add_playbook_starts(source: str, summary: Any = None, **plan_kwargs: Any) -> PlaybookStartsOperator:
    """Add ``plan_playbook_starts`` and the mapped ``start_playbooks`` to the DAG being defined; returns the plan."""
    plan = PlaybookStartsOperator(task_id="plan_playbook_starts", source=source, summary=summary, **plan_kwargs)
    TriggerDagRunOperator.partial(task_id="start_playbooks", skip_when_already_exists=True).expand_kwargs(plan.output)
    return plan
