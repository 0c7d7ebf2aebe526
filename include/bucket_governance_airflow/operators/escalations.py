"""``EscalateOverdueOperator``: re-escalate incidents whose decision deadline has passed.

One library call, ``bucket_governance.incidents.escalation.escalate_overdue``, as of the end of the run's
data interval (a rerun of a run sweeps as of the same moment, so it re-notifies nothing). Notifications go
through the playbooks' escalation notifier: the task log, the governance database (the timeline step), and
the webhook of the ``bucket_governance_escalation`` Connection when it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook
from bucket_governance_airflow.operators.playbooks import escalation_notifier
from bucket_governance_airflow.windows import window_us

if TYPE_CHECKING:
    from airflow.sdk import Context


class EscalateOverdueOperator(BaseOperator):
    """Re-escalate every overdue incident once per deadline; returns ``{"now_us", "escalated": [ids]}``.

    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    """

    template_fields: Sequence[str] = ("conn_id",)
    ui_color = "#fdf1e3"

    def __init__(self, *, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.incidents.escalation import escalate_overdue

        now_us = window_us(context)[1]
        channels, send = escalation_notifier(self.log)
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            done = escalate_overdue(hook.get_engine(), now_us, send, channels=channels)
        finally:
            hook.dispose()
        self.log.info("%d overdue incident(s) re-escalated as of %s", len(done), now_us)
        return {"now_us": now_us, "escalated": [d["incident_id"] for d in done]}
