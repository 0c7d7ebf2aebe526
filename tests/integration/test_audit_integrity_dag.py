"""The audit integrity DAG, run for real by Airflow (``dag.test()``) against a SQLite Bucket.

Checks the whole adapter chain: DAG file → operator → hook (Connection from ``AIRFLOW_CONN_*``) →
``run_integrity_check`` → ``governance_runs`` row, plus task state and return value: clean → success with the
summary as XCom; tampered ledger → failed at once (no retry) with a ``findings`` row naming the bad seq.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from tests.airflow_helpers import IGNORE_STARLETTE_HTTPX, load_dag, use_bucket_connection

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.db.tables import governance_runs
from bucket_governance.ledger.checkpoint import generate_signing_key
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.runs import RunRecord, get_run
from bucket_governance.settings import get_settings

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

pytestmark = [
    pytest.mark.integration,
    IGNORE_STARLETTE_HTTPX,
]

DAG_ID = "bucket_audit_integrity"
TASK_ID = "verify_ledger_chain"
HOUR_US = 3_600_000_000


@pytest.fixture(scope="module")
def dag(airflow_db: Path) -> DAG:
    """The DAG as the DAG processor sees it, on the session's throwaway Airflow metadata database."""
    return load_dag(DAG_ID)


@pytest.fixture
def bucket(sqlite_url: str, policy: LoadedPolicy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A SQLite Bucket with five ledger entries, reachable through the ``bucket_governance_db`` Connection."""
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    store = BucketStore(engine, policy)
    for i in range(5):
        request = CreateRequest(
            actor_id="gurukul.engineer",
            integration_id="gurukul.gateway",
            product_id="gurukul",
            artifact_class="ContentArtifact",
            payload=f"lesson {i}".encode(),
        )
        store.create(request).raise_if_denied()
    use_bucket_connection(monkeypatch, sqlite_url)
    key_path = Path(make_url(sqlite_url).database or ".").parent / "signing.key"
    generate_signing_key(key_path, "bucket-governance")
    monkeypatch.setenv("BUCKET_GOV_SIGNING_KEY_PATH", str(key_path))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()
    engine.dispose()


def _task_state(dag_run: DagRun) -> tuple[str | None, int]:
    ti = dag_run.get_task_instance(TASK_ID)
    assert ti is not None
    return ti.state, ti.try_number


def _returned(dag_run: DagRun) -> Any:
    """The task's return value (XCom ``return_value``) as stored by Airflow."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=DAG_ID, task_ids=TASK_ID, key="return_value")
    with create_session() as session:
        row = session.execute(query.with_only_columns(XComModel.value)).first()
    return None if row is None else XComModel.deserialize_value(row)


def _asset_event_extra(dag_run: DagRun) -> Any:
    """The ``extra`` of the Asset event the run emitted (None when it emitted none)."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        query = select(AssetEvent.extra).where(
            AssetEvent.source_dag_id == DAG_ID, AssetEvent.source_run_id == dag_run.run_id
        )
        return session.execute(query).scalar_one_or_none()


def _run_record(engine: Engine) -> RunRecord:
    with engine.connect() as conn:
        run_ids = conn.execute(select(governance_runs.c.run_id)).scalars().all()
    assert len(run_ids) == 1, f"expected one run row, found {len(run_ids)}"
    record = get_run(engine, run_ids[0])
    assert record is not None
    return record


def _run_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(governance_runs)).scalar_one())


def test_clean_ledger_succeeds_and_a_rerun_reuses_the_run_row(dag: DAG, bucket: Engine) -> None:
    logical_date = datetime(2026, 3, 1, 12, tzinfo=UTC)

    first = dag.test(logical_date=logical_date)
    first_record = _run_record(bucket)
    second = dag.test(logical_date=logical_date)

    summary = _returned(second)
    record = _run_record(bucket)
    assert (first.state, second.state) == ("success", "success")
    # Incremental: the first attempt verified entries 1-5 (and signed them); the re-run starts after seq 5.
    assert (first_record.summary["entries_checked"], first_record.summary["checkpoint"]["tree_size"]) == (5, 5)
    assert (summary["ok"], summary["entries_checked"], summary["last_seq"]) == (True, 0, 5)
    assert summary["run_id"] == record.run_id == first_record.run_id
    assert _asset_event_extra(second) == summary  # the Asset event carries the same small summary
    assert (record.status, record.attempts, _run_rows(bucket)) == ("clean", 2, 1)
    # The window is the run's data interval: the hour before the logical date.
    end_us = int(logical_date.timestamp()) * 1_000_000
    assert (record.window_start_us, record.window_end_us) == (end_us - HOUR_US, end_us)


def test_tampered_ledger_fails_without_retry_and_records_findings(dag: DAG, bucket: Engine) -> None:
    with bucket.begin() as conn:
        for statement in drop_guard_statements(bucket.dialect.name):
            conn.exec_driver_sql(statement)
        conn.execute(text("UPDATE ledger_entries SET actor_id = 'mallory' WHERE seq = 3"))

    dag_run = dag.test(logical_date=datetime(2026, 3, 1, 13, tzinfo=UTC))

    record = _run_record(bucket)
    assert dag_run.state == "failed"
    assert _task_state(dag_run) == ("failed", 1)  # AirflowFailException: a finding is not retried
    assert _asset_event_extra(dag_run) is None  # nothing "verified" to announce
    assert (record.status, record.summary["first_bad_seq"], record.summary["ok"]) == ("findings", 3, False)


# -- the adapter pieces, without a DAG run ------------------------------------------------------------------


def test_connection_url_comes_from_extra_or_from_the_fields() -> None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowException

    from bucket_governance_airflow.hooks.governance_db import url_from_connection

    extra = Connection(conn_id="a", conn_type="generic", extra=json.dumps({"url": "sqlite:////tmp/b.db"}))
    fields = Connection(
        conn_id="b", conn_type="postgres", host="db", port=5433, login="gov", password="p@ss", schema="bucket"
    )
    generic = Connection(conn_id="c", conn_type="generic", host="db")

    assert url_from_connection(extra) == "sqlite:////tmp/b.db"
    assert url_from_connection(fields) == "postgresql+psycopg://gov:p%40ss@db:5433/bucket"
    with pytest.raises(AirflowException, match="has no extra 'url'"):
        url_from_connection(generic)


def test_hook_falls_back_to_the_library_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bucket_governance.settings import get_settings
    from bucket_governance_airflow.hooks import BucketGovernanceHook

    monkeypatch.delenv("AIRFLOW_CONN_BUCKET_GOVERNANCE_DB", raising=False)
    monkeypatch.setenv("BUCKET_GOV_DB_URL", f"sqlite:///{tmp_path / 'fallback.db'}")
    get_settings.cache_clear()
    try:
        url = BucketGovernanceHook().get_url()
    finally:
        get_settings.cache_clear()

    assert url == f"sqlite:///{tmp_path / 'fallback.db'}"


def test_window_is_the_data_interval_else_the_run_moment() -> None:
    from types import SimpleNamespace

    from bucket_governance_airflow.operators.integrity import window_us

    start, end = datetime(2026, 3, 1, 11, tzinfo=UTC), datetime(2026, 3, 1, 12, tzinfo=UTC)
    end_us = int(end.timestamp()) * 1_000_000
    run = SimpleNamespace(run_after=end)
    scheduled: Any = {"data_interval_start": start, "data_interval_end": end}
    manual: Any = {"logical_date": end, "dag_run": run}
    manual_without_date: Any = {"dag_run": run}

    assert window_us(scheduled) == (end_us - HOUR_US, end_us)
    assert window_us(manual) == (end_us, end_us)
    assert window_us(manual_without_date) == (end_us, end_us)


def _interval_context() -> Any:
    return {
        "data_interval_start": datetime(2026, 3, 1, 11, tzinfo=UTC),
        "data_interval_end": datetime(2026, 3, 1, 12, tzinfo=UTC),
    }


def test_operator_returns_the_summary_and_fails_on_a_finding(bucket: Engine) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from bucket_governance_airflow.operators import AuditIntegrityOperator

    operator = AuditIntegrityOperator(task_id="verify")

    summary = operator.execute(_interval_context())
    with bucket.begin() as conn:
        for statement in drop_guard_statements(bucket.dialect.name):
            conn.exec_driver_sql(statement)
        conn.execute(text("UPDATE ledger_entries SET details = '{}' WHERE seq = 2"))
    with pytest.raises(AirflowFailException, match="first bad entry is seq 2"):
        operator.execute(_interval_context())

    assert (summary["ok"], summary["entries_checked"], summary["status"]) == (True, 5, "clean")


def test_operator_lets_an_outage_raise_an_ordinary_retryable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from bucket_governance_airflow.operators import AuditIntegrityOperator

    down = {"conn_type": "generic", "extra": {"url": "postgresql+psycopg://gov@/bucket?host=/nonexistent-socket-dir"}}
    monkeypatch.setenv("AIRFLOW_CONN_BUCKET_GOVERNANCE_DB", json.dumps(down))

    with pytest.raises(OperationalError):  # not AirflowFailException: Airflow retries it
        AuditIntegrityOperator(task_id="verify").execute(_interval_context())
