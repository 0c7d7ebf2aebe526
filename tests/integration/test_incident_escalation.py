"""Re-escalation of overdue incidents: the library sweep, its CLI command and its scheduled DAG.

An incident past its decision deadline is escalated once (a timeline step, a notification, a new deadline);
a second sweep at the same moment re-notifies nothing; incidents not overdue, decided or closed are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.airflow_helpers import IGNORE_STARLETTE_HTTPX, load_dag, returned, use_bucket_connection
from tests.integration.test_cli import run  # noqa: F401 - the in-process `bucket-gov` fixture

from bucket_governance.db import make_engine
from bucket_governance.incidents import steps
from bucket_governance.incidents.escalation import ESCALATION_ACTOR, escalate_overdue
from bucket_governance.incidents.records import get_incident
from bucket_governance.policy import LoadedPolicy

pytestmark = [pytest.mark.integration, IGNORE_STARLETTE_HTTPX]
MINUTE_US = 60_000_000
F3_FORM = {"product_id": "gurukul", "requested_change": "raise the metadata limit", "justification": "launch",
           "deadline": "2026-12-01T00:00:00Z"}  # fmt: skip


def escalations(engine: Engine, incident_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [e for e in get_incident(conn, incident_id)["timeline"] if e["step"] == "escalated"]


def opened(engine: Engine, policy: LoadedPolicy, playbook: str, form: dict[str, Any]) -> tuple[str, int]:
    incident_id = steps.start(engine, policy, playbook, form)["incident_id"]
    with engine.connect() as conn:
        incident = get_incident(conn, incident_id)
    return incident_id, incident["escalation_due_us"] or incident["opened_at_us"]


def test_an_overdue_incident_is_escalated_once_per_deadline(engine: Engine, policy: LoadedPolicy) -> None:
    f8, due = opened(engine, policy, "F8", {"product_id": "gurukul"})  # critical: decision due at once
    sent: list[dict[str, Any]] = []

    first = escalate_overdue(engine, due + 1, sent.append)
    again = escalate_overdue(engine, due + 1, sent.append)
    within_floor = escalate_overdue(engine, due + 10 * MINUTE_US, sent.append)
    next_deadline = escalate_overdue(engine, due + 16 * MINUTE_US, sent.append)

    assert [d["incident_id"] for d in first] == [f8] and again == [] and within_floor == []
    assert [d["level"] for d in sent] == [1, 2]
    assert first[0]["due_us"] == due + 1 + 15 * MINUTE_US  # immediate deadlines repeat every 15 minutes
    timeline = escalations(engine, f8)
    assert [(e["actor"], e["detail"]["overdue"]) for e in timeline] == [(ESCALATION_ACTOR, True)] * 2
    assert timeline[0]["at_us"] == due + 1 and next_deadline[0]["was_due_us"] == first[0]["due_us"]


def test_incidents_not_overdue_decided_or_without_deadline_are_left_alone(engine: Engine, policy: LoadedPolicy) -> None:
    f3, f3_due = opened(engine, policy, "F3", F3_FORM)  # 24 h
    f10, _ = opened(engine, policy, "F10", {"product_id": "gurukul", "artifact_class": "ContentArtifact"})
    f9, f9_due = opened(engine, policy, "F9", {"product_id": "workflow"})  # immediate, but decided
    steps.record_decision(engine, policy, f9, "Reject", by="ops.alice")

    early = escalate_overdue(engine, f3_due - 1, lambda _d: None)
    late = escalate_overdue(engine, f3_due + 1, lambda _d: None)

    assert early == [] and [d["incident_id"] for d in late] == [f3]
    assert escalations(engine, f10) == [] and escalations(engine, f9) == [] and f9_due < f3_due
    assert late[0]["due_us"] == f3_due + 1 + 24 * 60 * MINUTE_US  # the playbook's deadline again


def test_the_cli_sweeps_as_of_now(run: Any, sqlite_url: str, policy: LoadedPolicy) -> None:  # noqa: F811
    engine = make_engine(sqlite_url)
    f8, due = opened(engine, policy, "F8", {"product_id": "gurukul"})
    when = datetime.fromtimestamp((due + MINUTE_US) / 1e6, tz=UTC).isoformat()

    first, second = run("--json", "incident", "escalate-overdue", "--now", when), run("incident", "escalate-overdue")
    bad = run("incident", "escalate-overdue", "--now", "yesterday")

    assert first.returncode == 0 and [d["incident_id"] for d in json.loads(first.stdout)["escalated"]] == [f8]
    assert second.returncode == 0 and second.stdout.startswith("0 overdue incident(s)")  # next due in 15 min
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr + bad.stdout
    engine.dispose()


@pytest.fixture
def bucket(airflow_db: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from bucket_governance.db import upgrade_to_head

    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    use_bucket_connection(monkeypatch, sqlite_url)
    yield engine
    engine.dispose()


def test_the_dag_escalates_an_overdue_incident_once(bucket: Engine, policy: LoadedPolicy) -> None:
    f8, due = opened(bucket, policy, "F8", {"product_id": "gurukul"})
    dag = load_dag("bucket_incident_escalations")
    sweep_at = datetime.fromtimestamp(due // 1_000_000 + 60, tz=UTC)

    first = dag.test(logical_date=sweep_at)
    first_result = returned(first, "escalate_overdue")
    second = dag.test(logical_date=sweep_at)

    assert (first.state, second.state) == ("success", "success")
    assert first_result["escalated"] == [f8]
    assert returned(second, "escalate_overdue")["escalated"] == []
    (escalation,) = escalations(bucket, f8)
    assert escalation["detail"]["channels"] == ["log", "database"]
