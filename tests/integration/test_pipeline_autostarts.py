"""Automatic playbook starts from the drift, audit-integrity and capacity pipelines, run by `dag.test()`.

Each pipeline's critical result queues exactly one run of the right playbook DAG with a prefilled form that
the playbook accepts; the incident that run opens (its first step, done here through the library) is the
only one; and a rerun of the same window queues nothing new. The playbook runs themselves are tested in
test_playbook_dags.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from tests.airflow_helpers import IGNORE_STARLETTE_HTTPX, load_dag, task_states, use_bucket_connection

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.checks.drift.baselines import approve_baseline, propose_baseline
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.db.tables_incidents import incidents
from bucket_governance.incidents.forms import validate_form
from bucket_governance.incidents.records import open_incident
from bucket_governance.incidents.registry import PLAYBOOKS
from bucket_governance.ledger.checkpoint import generate_signing_key
from bucket_governance.policy import LoadedPolicy
from bucket_governance.settings import get_settings

if TYPE_CHECKING:
    from airflow.sdk import DAG

pytestmark = [pytest.mark.integration, IGNORE_STARLETTE_HTTPX]
HOUR_US = 3_600_000_000
LOGICAL = datetime(2026, 3, 1, 12, tzinfo=UTC)  # hourly DAGs: the run covers [11:00, 12:00)
END_US = int(LOGICAL.timestamp()) * 1_000_000
POLICY_DIR = Path(__file__).resolve().parents[2] / "include" / "policy"


@pytest.fixture
def bucket(airflow_db: Path, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    use_bucket_connection(monkeypatch, sqlite_url)
    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    key_path = Path(make_url(sqlite_url).database or ".").parent / "signing.key"
    generate_signing_key(key_path, "bucket-governance")
    monkeypatch.setenv("BUCKET_GOV_SIGNING_KEY_PATH", str(key_path))
    get_settings.cache_clear()
    forget_autostarts()
    yield engine
    get_settings.cache_clear()
    engine.dispose()


def forget_autostarts() -> None:
    """The Airflow database lives for the whole session: runs queued by another test (another DAG test that
    tampers the same way makes the same finding id, so the same ``autostart__…`` run id) would look like
    this test's, and the planner skips a run id that already exists."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.run_id.startswith("autostart__")))


def lesson(store: BucketStore, n: int, revision: object = 1) -> None:
    store.create(
        CreateRequest(actor_id="gurukul.engineer", integration_id="gurukul.gateway", product_id="gurukul",
                      artifact_class="ContentArtifact", artifact_id=f"lesson-{n}", payload=b'{"body": "fractions"}' * 40,
                      metadata={"title": f"lesson {n}", "revision": revision},
                      provenance={"source": "editor", "intent": "publish a lesson", "parents": []})
    ).raise_if_denied()  # fmt: skip


def autostarts(dag_id: str) -> dict[str, dict[str, Any]]:
    """run id → conf of the playbook runs queued automatically (``autostart__…``)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id.startswith("autostart__"))
        return {run.run_id: dict(run.conf or {}) for run in session.scalars(query)}


def run_twice_and_open(
    dag: DAG, playbook_id: str, logical: datetime, bucket: Engine
) -> tuple[Any, Any, dict[str, Any]]:
    """Run the window, open the queued run's incident as its first step would, rerun the window."""
    dag_id = PLAYBOOKS[playbook_id].dag_id
    before = autostarts(dag_id)
    first = dag.test(logical_date=logical)
    queued = {k: v for k, v in autostarts(dag_id).items() if k not in before}
    assert len(queued) == 1, queued
    ((run_id, conf),) = queued.items()
    playbook = PLAYBOOKS[playbook_id]
    open_incident(bucket, playbook, validate_form(playbook, conf), actor="autostart")
    again = dag.test(logical_date=logical)
    assert {k for k in autostarts(dag_id) if k not in before} == {run_id}  # the rerun queued nothing new
    assert task_states(again).get(("start_playbooks", 0)) is None
    with bucket.connect() as conn:
        assert conn.execute(select(func.count()).select_from(incidents)).scalar_one() == 1
    return first, again, {"run_id": run_id, **conf}


def test_schema_drift_starts_f10_for_the_drifting_product_once(bucket: Engine, policy: LoadedPolicy) -> None:
    times = iter([END_US - 2 * HOUR_US + i * 1_000_000 for i in range(3)] + [END_US - HOUR_US // 2])
    store = BucketStore(bucket, policy, clock=lambda: next(times))
    for n in range(3):
        lesson(store, n, n + 1)
    propose_baseline(bucket, policy, product_id="gurukul", artifact_class="ContentArtifact",
                     window_start_us=END_US - 2 * HOUR_US, window_end_us=END_US - HOUR_US, proposed_by="test")  # fmt: skip
    approve_baseline(bucket, policy, product_id="gurukul", artifact_class="ContentArtifact", actor_id="gurukul.owner")
    lesson(store, 9, "second")  # in the window: the integer revision arrives as a string (breaking T3)

    first, again, conf = run_twice_and_open(load_dag("bucket_schema_drift"), "F10", LOGICAL, bucket)

    assert (first.state, again.state) == ("success", "success")
    assert conf["run_id"] == f"autostart__{conf['finding_id']}" and conf["triggered_by"] == "schema_drift"
    assert (conf["product_id"], conf["artifact_class"], conf["fields"]) == ("gurukul", "ContentArtifact", ["revision"])
    assert conf["artifact_ids"] == ["lesson-9"]


def test_audit_tampering_starts_one_f7_case_and_the_run_still_fails(bucket: Engine, policy: LoadedPolicy) -> None:
    store = BucketStore(bucket, policy, clock=lambda: END_US - HOUR_US // 2)
    for n in range(5):
        lesson(store, n)
    with bucket.begin() as conn:
        for statement in drop_guard_statements(bucket.dialect.name):
            conn.exec_driver_sql(statement)
        conn.execute(text("UPDATE ledger_entries SET actor_id = 'mallory' WHERE seq = 3"))

    first, again, conf = run_twice_and_open(load_dag("bucket_audit_integrity"), "F7", LOGICAL, bucket)

    assert (first.state, again.state) == ("failed", "failed")  # tampering still fails the DAG run
    states = task_states(again)  # a dag.test() of the same logical date replaces the first run's instances
    assert (states[("verify_ledger_chain", -1)], states[("fail_on_tampering", -1)]) == ("failed", "failed")
    assert states[("plan_playbook_starts", -1)] == "success"
    assert conf["triggered_by"] == "audit_integrity" and conf["product_ids"] == ["gurukul"]
    assert conf["case_id"].startswith("case-audit_integrity-")


def test_a_clean_audit_run_starts_nothing_and_succeeds(bucket: Engine, policy: LoadedPolicy) -> None:
    BucketStore(bucket, policy, clock=lambda: END_US - HOUR_US // 2).create(
        CreateRequest(actor_id="gurukul.engineer", integration_id="gurukul.gateway", product_id="gurukul",
                      artifact_class="ContentArtifact", payload=b"{}")
    ).raise_if_denied()  # fmt: skip
    before = autostarts("bucket_playbook_f7")

    dag_run = load_dag("bucket_audit_integrity").test(logical_date=LOGICAL)

    states = task_states(dag_run)
    assert dag_run.state == "success" and states[("fail_on_tampering", -1)] == "skipped"
    assert autostarts("bucket_playbook_f7") == before


def test_a_critical_capacity_limit_starts_f8_for_that_product_only(
    bucket: Engine, policy: LoadedPolicy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BucketStore(bucket, policy, clock=lambda: END_US - 2 * HOUR_US)
    for n in range(3):
        lesson(store, n)  # about 2.4 kB for gurukul
    tight = shutil.copytree(POLICY_DIR, tmp_path / "policy")
    products = tight / "products.yaml"
    products.write_text(products.read_text().replace("quota: 200GB", "quota: 1KB", 1))
    monkeypatch.setenv("BUCKET_GOV_POLICY_DIR", str(tight))
    get_settings.cache_clear()

    dag = load_dag("bucket_capacity_projection")

    first, again, conf = run_twice_and_open(dag, "F8", datetime(2026, 3, 2, tzinfo=UTC), bucket)

    assert (first.state, again.state) == ("success", "success")
    assert (conf["product_id"], conf["level"], conf["triggered_by"]) == ("gurukul", "critical", "capacity_projection")
    assert conf["run_id"].startswith("autostart__capacity.") and conf["run_id"].endswith(".gurukul")
