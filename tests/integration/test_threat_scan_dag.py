"""The threat-scan DAG run by Airflow (`dag.test()`): one mapped task per threat, a summary, idempotent reruns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, func, select
from tests.airflow_helpers import IGNORE_STARLETTE_HTTPX, load_dag, returned, task_states, use_bucket_connection

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import findings
from bucket_governance.policy import LoadedPolicy, Operation

if TYPE_CHECKING:
    from airflow.sdk import DAG

pytestmark = [pytest.mark.integration, IGNORE_STARLETTE_HTTPX]
RUN_END = datetime(2026, 3, 1, 12, 15, tzinfo=UTC)  # the run covers [12:00, 12:15)
IN_WINDOW_US = int(datetime(2026, 3, 1, 12, 5, tzinfo=UTC).timestamp()) * 1_000_000


@pytest.fixture(scope="module")
def dag(airflow_db: Path) -> DAG:
    return load_dag("bucket_threat_scan")


@pytest.fixture
def bucket(sqlite_url: str, policy: LoadedPolicy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Inside the window: an AI agent asks to UPDATE (T6), a write arrives via an unapproved integration (T2)."""
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    store = BucketStore(engine, policy, clock=lambda: IN_WINDOW_US)
    store.submit(AccessRequest(Operation.UPDATE, "gurukul.agent", "gurukul.gateway", "gurukul", "lesson-1"))
    store.create(
        CreateRequest(
            actor_id="workflow.service",
            integration_id="workflow.legacy-sync",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            payload=b"{}",
        )
    )
    use_bucket_connection(monkeypatch, sqlite_url)
    yield engine
    engine.dispose()


def test_mapped_scan_per_threat_finds_the_incidents_and_reruns_do_not_duplicate(dag: DAG, bucket: Engine) -> None:
    first = dag.test(logical_date=RUN_END)
    second = dag.test(logical_date=RUN_END)

    states = task_states(second)
    summary = returned(second, "summarize")
    assert (first.state, second.state) == ("success", "success")
    assert sorted(i for (task, i) in states if task == "scan_threat") == list(range(10))
    # start_playbooks is mapped over the critical findings still to start: on the rerun there are none (skipped).
    assert {s for (task, _), s in states.items() if task != "start_playbooks"} == {"success"}
    assert summary["findings_per_threat"]["T6"] == 1
    assert summary["findings_per_threat"]["T2"] == 1
    assert len(summary["critical_findings"]) == 1  # T2 is CRITICAL, T6 MEDIUM
    with bucket.connect() as conn:
        rows = conn.execute(select(findings.c.rule_id, findings.c.count)).all()
        assert conn.execute(select(func.count()).select_from(findings)).scalar() == 2
    assert sorted(rows) == [("T2.invalid_integration", 1), ("T6.automated_request", 1)]


def test_an_empty_window_is_clean(dag: DAG, bucket: Engine) -> None:
    dag_run = dag.test(logical_date=datetime(2026, 3, 1, 13, 0, tzinfo=UTC))

    assert dag_run.state == "success"
    assert returned(dag_run, "summarize")["findings_total"] == 0


def test_a_manual_run_can_scan_a_window_given_in_its_params(dag: DAG, bucket: Engine) -> None:
    conf = {"since": "2026-03-01T12:00:00Z", "until": "2026-03-01T12:10:00Z"}

    dag_run = dag.test(logical_date=datetime(2026, 3, 2, 0, 0, tzinfo=UTC), run_conf=conf)

    summary = returned(dag_run, "summarize")
    assert summary["findings_per_threat"]["T6"] == 1  # the incidents at 12:05, outside the data interval
