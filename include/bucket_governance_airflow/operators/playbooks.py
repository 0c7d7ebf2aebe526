"""Operators of the failure-playbook DAGs: each step calls one function of ``bucket_governance.incidents.steps``.

validate_form → open_incident → preserve_evidence → contain → escalate → decide (HITL) → recover → close.
The incident id travels through XCom from ``open_incident``; when a trigger *attached* to an incident that
is already open, every later step skips (the open incident's own run is handling it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLBranchOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook

if TYPE_CHECKING:
    from airflow.sdk import Context

OPEN_TASK = "open_incident"
ESCALATION_CONN_ID = "bucket_governance_escalation"  # optional: an HTTP Connection whose host is a webhook URL


def _policy() -> Any:
    from bucket_governance.policy import load_policy
    from bucket_governance.settings import get_settings

    return load_policy(get_settings().policy_dir)


def _opened(context: Context) -> dict[str, Any]:
    opened = context["ti"].xcom_pull(task_ids=OPEN_TASK)
    if not opened:
        raise AirflowFailException("open_incident returned nothing: the run cannot continue")
    if opened["attached"]:
        raise AirflowSkipException(f"attached to the open incident {opened['incident_id']}; its own run handles it")
    return dict(opened)


def _submitted(context: Context) -> dict[str, Any]:
    """The form as submitted: params (defaults filled in) plus any unknown top-level keys of the conf."""
    params = dict(context.get("params") or {})
    conf = dict(getattr(context.get("dag_run"), "conf", None) or {})
    return {**params, **conf}


class PlaybookFormOperator(BaseOperator):
    """Validate the trigger form against the playbook's model (unknown keys too); nothing is written."""

    template_fields: Sequence[str] = ("playbook",)

    def __init__(self, *, playbook: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.playbook = playbook

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.errors import GovernanceError
        from bucket_governance.incidents.steps import validate

        try:
            form = validate(_policy(), self.playbook, _submitted(context))
        except GovernanceError as exc:  # bad input: retrying cannot help
            raise AirflowFailException(exc.message) from None
        return form.model_dump(mode="json")


class OpenIncidentOperator(BaseOperator):
    """Open the incident (or attach to the open one of this playbook + subject)."""

    template_fields: Sequence[str] = ("playbook", "conn_id")

    def __init__(self, *, playbook: str, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.playbook = playbook
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.incidents.steps import start

        form = context["ti"].xcom_pull(task_ids="validate_form")
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            started = start(hook.get_engine(), _policy(), self.playbook, form)
        finally:
            hook.dispose()
        self.log.info("Incident %s (%s, attached=%s)", started["incident_id"], started["subject"], started["attached"])
        return started


class PlaybookStepOperator(BaseOperator):
    """One automatic step of the incident: ``evidence``, ``contain``, ``escalate``, ``recover`` or ``close``."""

    template_fields: Sequence[str] = ("step", "conn_id", "evidence_dir")
    STEPS = ("evidence", "contain", "escalate", "recover", "close")

    def __init__(
        self, *, step: str, conn_id: str = DEFAULT_CONN_ID, evidence_dir: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if step not in self.STEPS:
            raise ValueError(f"step must be one of {self.STEPS}, not {step!r}")
        self.step = step
        self.conn_id = conn_id
        self.evidence_dir = evidence_dir

    def execute(self, context: Context) -> Any:
        incident_id = _opened(context)["incident_id"]
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            result = self._run(hook.get_engine(), incident_id)
        finally:
            hook.dispose()
        self.log.info("%s of %s: %s", self.step, incident_id, json.dumps(result, default=str)[:2000])
        return result

    def _run(self, engine: Any, incident_id: str) -> Any:
        from pathlib import Path

        from bucket_governance.errors import GovernanceError
        from bucket_governance.incidents import steps
        from bucket_governance.settings import get_settings

        settings, actor = get_settings(), f"airflow:{self.dag_id}"
        try:
            if self.step == "evidence":
                root = Path(self.evidence_dir) if self.evidence_dir else settings.var_dir / "evidence"
                signer = steps.load_evidence_signer(settings.resolved_signing_key_path())
                return steps.preserve_evidence(engine, _policy(), incident_id, root, signer)
            if self.step == "contain":
                return steps.contain(engine, _policy(), incident_id)
            if self.step == "escalate":
                return notify_escalation(engine, incident_id, self.log)
            if self.step == "recover":
                return steps.recover(engine, _policy(), incident_id, actor=actor)
            return {k: v for k, v in steps.close(engine, incident_id, actor=actor).items() if k != "timeline"}
        except GovernanceError as exc:
            raise AirflowFailException(exc.message) from None


def notify_escalation(engine: Any, incident_id: str, log: Any) -> dict[str, Any]:
    """The escalation notifier: the log, the governance database, and a webhook when its Connection exists."""
    from bucket_governance.incidents.steps import escalate

    channels, send = escalation_notifier(log)
    detail = escalate(engine, incident_id, channels=channels)
    send({"incident_id": incident_id, **detail})
    return detail


def escalation_notifier(log: Any) -> tuple[list[str], Any]:
    """(channels, send): where escalations go, and the callable that sends one (the database record is the
    library's). Shared by the playbooks' escalate step and the overdue sweep."""
    url = _webhook_url()

    def send(detail: dict[str, Any]) -> None:
        log.warning("ESCALATION %s", detail["message"])
        if url:
            _post(url, detail, log)

    return ["log", "database", *(["webhook"] if url else [])], send


def _webhook_url() -> str | None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(ESCALATION_CONN_ID)
    except AirflowNotFoundException:
        return None
    return conn.host or conn.extra_dejson.get("url")


def _post(url: str, document: dict[str, Any], log: Any) -> None:
    """Best effort with a timeout: the incident is already escalated in the database either way."""
    import urllib.request

    request = urllib.request.Request(
        url, data=json.dumps(document, default=str).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except OSError as exc:
        log.warning("Escalation webhook failed (%s); the escalation is recorded in the governance database", exc)


class _RecordsDecision:
    """Mixin for the HITL operators: skip when attached, and record the answer on the incident and the ledger."""

    conn_id: str

    def execute(self, context: Context) -> Any:
        _opened(context)  # skips when this run attached to an open incident
        return super().execute(context)  # type: ignore[misc]

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from bucket_governance.incidents.steps import record_decision

        if "error" not in event:
            incident_id = _opened(context)["incident_id"]
            user = event.get("responded_by_user") or {}
            by = f"airflow-user:{user.get('name') or user.get('id') or 'unknown'}"
            hook = BucketGovernanceHook(conn_id=self.conn_id)
            try:
                record_decision(hook.get_engine(), _policy(), incident_id, event["chosen_options"][0], by=by,
                                extra={"params_input": event.get("params_input") or {}})  # fmt: skip
            finally:
                hook.dispose()
        return super().execute_complete(context, event)  # type: ignore[misc]


class PlaybookApprovalOperator(_RecordsDecision, ApprovalOperator):
    """Approve → the recovery runs; Reject → it is skipped and the controls stay (the incident still closes)."""

    def __init__(self, *, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id


class PlaybookBranchOperator(_RecordsDecision, HITLBranchOperator):
    """One option per recovery branch (the playbook registry names them)."""

    def __init__(self, *, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
