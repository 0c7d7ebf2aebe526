"""Running DAGs for real in tests: load a DAG as the DAG processor does, read what a run produced.

Use with the session fixture ``airflow_db`` (tests/conftest.py), which gives a migrated, throwaway Airflow
metadata database: ``dag = load_dag("bucket_threat_scan")`` then ``dag_run = dag.test(logical_date=...)``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"

# Airflow's in-process execution API (used by dag.test()) imports starlette.testclient; starlette deprecates
# its httpx backend. Not our code, not our call: DAG-running modules ignore exactly this warning.
IGNORE_STARLETTE_HTTPX = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated:starlette.exceptions.StarletteDeprecationWarning"
)


def load_dag(dag_id: str) -> DAG:
    """The DAG from its file, parsed by a DagBag; retries kept, retry delays zeroed so failures are quick."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=DAGS_FOLDER / f"{dag_id}.py")
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[dag_id]
    for task in dag.tasks:
        task.retry_delay = timedelta(0)
    return dag


def use_bucket_connection(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point the ``bucket_governance_db`` Connection at a test database (an AIRFLOW_CONN_* variable)."""
    monkeypatch.setenv("AIRFLOW_CONN_BUCKET_GOVERNANCE_DB", json.dumps({"conn_type": "generic", "extra": {"url": url}}))


def returned(dag_run: DagRun, task_id: str, map_index: int = -1) -> Any:
    """A task's return value (XCom ``return_value``) as stored by Airflow."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(
        run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key="return_value", map_indexes=map_index
    )
    with create_session() as session:
        row = session.execute(query.with_only_columns(XComModel.value)).first()
    return None if row is None else XComModel.deserialize_value(row)


def task_states(dag_run: DagRun) -> dict[tuple[str, int], str | None]:
    """(task_id, map_index) → state, for every task instance of the run."""
    return {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
