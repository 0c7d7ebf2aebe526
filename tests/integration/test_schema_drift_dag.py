"""The schema-drift DAG run by Airflow (`dag.test()`): products listed at run time, one mapped check per
product, a summary with the Asset event, idempotent per data interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, func, select
from tests.airflow_helpers import IGNORE_STARLETTE_HTTPX, load_dag, returned, task_states, use_bucket_connection

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.checks.drift.baselines import approve_baseline, propose_baseline
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import findings
from bucket_governance.policy import LoadedPolicy
from bucket_governance.settings import get_settings

if TYPE_CHECKING:
    from airflow.sdk import DAG

pytestmark = [pytest.mark.integration, IGNORE_STARLETTE_HTTPX]
LOGICAL = datetime(2026, 3, 1, 12, tzinfo=UTC)  # hourly: the run covers [11:00, 12:00)
HOUR_US = 3_600_000_000
WINDOW_END_US = int(LOGICAL.timestamp()) * 1_000_000


def _lesson(store: BucketStore, n: int, revision: object) -> None:
    request = CreateRequest(
        actor_id="gurukul.engineer",
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_class="ContentArtifact",
        artifact_id=f"lesson-{n}",
        payload=b'{"body": "fractions"}',
        metadata={"title": f"lesson {n}", "revision": revision},
        provenance={"source": "editor", "intent": "publish a lesson", "parents": []},
    )
    store.create(request).raise_if_denied()


@pytest.fixture
def bucket(sqlite_url: str, policy: LoadedPolicy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """gurukul's baseline approved from the hour before the run's window; in the window a revision turns string."""
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    times = iter([WINDOW_END_US - 2 * HOUR_US + i * 1_000_000 for i in range(3)] + [WINDOW_END_US - HOUR_US // 2])
    store = BucketStore(engine, policy, clock=lambda: next(times))
    for n in range(3):
        _lesson(store, n, n + 1)
    propose_baseline(
        engine, policy, product_id="gurukul", artifact_class="ContentArtifact",
        window_start_us=WINDOW_END_US - 2 * HOUR_US, window_end_us=WINDOW_END_US - HOUR_US, proposed_by="test",
    )  # fmt: skip
    approve_baseline(engine, policy, product_id="gurukul", artifact_class="ContentArtifact", actor_id="gurukul.owner")
    _lesson(store, 9, "second")  # inside [11:00, 12:00): the integer revision arrives as a string
    use_bucket_connection(monkeypatch, sqlite_url)
    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()
    engine.dispose()


@pytest.fixture(scope="module")
def dag(airflow_db: Path) -> DAG:
    return load_dag("bucket_schema_drift")


def test_one_mapped_check_per_product_finds_the_drift_and_a_rerun_does_not_duplicate(
    dag: DAG, bucket: Engine, tmp_path: Path
) -> None:
    first = dag.test(logical_date=LOGICAL)
    second = dag.test(logical_date=LOGICAL)

    states = task_states(second)
    summary = returned(second, "summarize")
    gurukul = returned(second, "check_product", map_index=2)
    assert (first.state, second.state) == ("success", "success")
    assert sorted(i for (task, i) in states if task == "check_product") == list(range(5))
    # start_playbooks is mapped over the F10 starts still to make: the first run queued one, the rerun none.
    assert {s for (task, _), s in states.items() if task != "start_playbooks"} == {"success"}
    assert summary["products"]["gurukul"] == "findings" and summary["changes"] == 1
    assert gurukul["changes"] == [
        {"artifact_class": "ContentArtifact", "field": "revision", "change": "type_change", "class": "breaking"}
    ]
    assert Path(summary["data_docs"]["gurukul"]).is_file()
    assert summary["data_docs"]["gurukul"].startswith(str(tmp_path / "var" / "gx" / "gurukul"))
    with bucket.connect() as conn:
        assert conn.execute(select(func.count()).select_from(findings)).scalar() == 1
        assert conn.execute(select(findings.c.rule_id)).scalar() == "T3.type_change"
