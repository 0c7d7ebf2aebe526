"""The capacity-projection DAG, run for real by Airflow (``dag.test()``) against a SQLite Bucket.

DAG file → operator → hook (Connection from ``AIRFLOW_CONN_*``) → ``run_capacity`` → usage history,
snapshot, projections and a ``governance_runs`` row; the task succeeds, returns the small summary, and a
re-run of the same day reuses the same run row.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import governance_runs
from bucket_governance.db.tables_capacity import capacity_projections, capacity_usage_daily
from bucket_governance.demo.timeline import SimulatedClock
from bucket_governance.policy import LoadedPolicy

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

pytestmark = [
    pytest.mark.integration,
    # Same third-party warning as tests/integration/test_audit_integrity_dag.py (Airflow's in-process API).
    pytest.mark.filterwarnings(
        "ignore:Using `httpx` with `starlette.testclient` is deprecated:starlette.exceptions.StarletteDeprecationWarning"
    ),
]

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "bucket_capacity_projection"
TASK_ID = "project_capacity"
DAY_US = 86_400_000_000
_HOME_ENV = "_BUCKET_GOV_TEST_AIRFLOW_HOME"


def _use_throwaway_airflow_home() -> None:
    """As in test_audit_integrity_dag.py: a temporary AIRFLOW_HOME before Airflow is first imported."""
    if os.environ.get(_HOME_ENV):
        return
    if "airflow" in sys.modules:
        raise pytest.UsageError("Airflow was imported before its test home was set; import it inside tests")
    home = Path(tempfile.mkdtemp(prefix="bucket-gov-airflow-"))
    atexit.register(shutil.rmtree, home, True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            _HOME_ENV: str(home),
        }
    )


_use_throwaway_airflow_home()


@pytest.fixture(scope="module")
def dag() -> DAG:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.resetdb()
    bag = DagBag(dag_folder=DAGS_FOLDER / f"{DAG_ID}.py")
    assert not bag.import_errors
    dag = bag.dags[DAG_ID]
    for task in dag.tasks:
        task.retry_delay = timedelta(0)
    return dag


@pytest.fixture
def bucket(sqlite_url: str, policy: LoadedPolicy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    """Three weeks of gurukul writes before 2026-03-01, reachable through the ``bucket_governance_db`` Connection."""
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    clock = SimulatedClock()
    store = BucketStore(engine, policy, clock=clock)
    first_day = int(datetime(2026, 2, 8, tzinfo=UTC).timestamp()) * 1_000_000
    for day in range(21):
        times = [first_day + day * DAY_US + 9 * 3_600_000_000 + i * 60_000_000 for i in range(3 + day // 3)]
        clock.load(times)
        requests = [
            CreateRequest(actor_id="gurukul.engineer", integration_id="gurukul.gateway", product_id="gurukul",
                          artifact_class="ContentArtifact", payload=f"lesson {day}-{i}".encode() * 50)
            for i in range(len(times))
        ]  # fmt: skip
        for outcome in store.create_batch(requests):
            outcome.raise_if_denied()
    monkeypatch.setenv(
        "AIRFLOW_CONN_BUCKET_GOVERNANCE_DB", json.dumps({"conn_type": "generic", "extra": {"url": sqlite_url}})
    )
    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    from bucket_governance.settings import get_settings

    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()
    engine.dispose()


def _returned(dag_run: DagRun) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=DAG_ID, task_ids=TASK_ID, key="return_value")
    with create_session() as session:
        row = session.execute(query.with_only_columns(XComModel.value)).first()
    return None if row is None else XComModel.deserialize_value(row)


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_daily_run_projects_every_limit_and_a_rerun_reuses_its_rows(dag: DAG, bucket: Engine, tmp_path: Path) -> None:
    logical_date = datetime(2026, 3, 1, tzinfo=UTC)

    first = dag.test(logical_date=logical_date)
    usage_rows, projection_rows = _count(bucket, capacity_usage_daily), _count(bucket, capacity_projections)
    second = dag.test(logical_date=logical_date)

    summary = _returned(second)
    assert (first.state, second.state) == ("success", "success")
    assert summary["pipeline"] == "capacity_projection" and summary["status"] in ("HEALTHY", "WARNING")
    assert sum(summary["limits_by_status"].values()) == projection_rows == _count(bucket, capacity_projections)
    assert _count(bucket, capacity_usage_daily) == usage_rows == 21 * 6  # 21 days x (5 products + total)
    assert _count(bucket, governance_runs) == 1
    assert sorted(Path(p).name for p in summary["pictures"])[0] == "capacity-ai_assistant.png"
    assert all(Path(p).is_file() for p in summary["pictures"])
