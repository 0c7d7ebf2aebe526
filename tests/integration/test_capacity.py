"""Capacity projection end to end: SQL aggregation on both dialects, the demo scenario, pictures, the CLI.

The scenario (demo/capacity_scenario.py) is written once through the governed store on SQLite; its
growing product's expected curve reaches 99 % of its quota 75 days after the history ends. Tolerance: the
P50 time-to-breach within ±15 days of that (60–90 days), and the truth inside the P90–P10 breach range
widened by 5 days. Flat → HEALTHY with no breach; noisy → UNPREDICTABLE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.checks.capacity.pipeline import CapacityResult, run_capacity
from bucket_governance.checks.capacity.usage import DAY_US, TOTAL
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import governance_runs
from bucket_governance.db.tables_capacity import capacity_projections, capacity_snapshots, capacity_usage_daily
from bucket_governance.demo.capacity_scenario import (
    FLAT,
    GROWING,
    NOISY,
    TRUE_DAYS_TO_CRITICAL,
    CapacityScenario,
    write_capacity_scenario,
    write_policy_dir,
)
from bucket_governance.demo.timeline import SimulatedClock
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration

DAY0 = 20_500 * DAY_US  # 2026-02-14 00:00 UTC
MINUTE = 60_000_000


def _write(store: BucketStore, clock: SimulatedClock, times: list[int], actor: str, size: int) -> None:
    product, integration, cls = {
        "gurukul.engineer": ("gurukul", "gurukul.gateway", "ContentArtifact"),
        "gurukul.executor": ("gurukul", "gurukul.gateway", "ContentArtifact"),
        "workflow.engineer": ("workflow", "workflow.gateway", "ExecutionTrace"),
    }[actor]
    for i, at in enumerate(times):
        clock.load([at])
        store.create(
            CreateRequest(actor_id=actor, integration_id=integration, product_id=product, artifact_class=cls,
                          payload=f"{actor}-{at}-{i}".encode().ljust(size, b"."))
        ).raise_if_denied()  # fmt: skip


def test_usage_history_is_aggregated_in_sql_and_idempotent(engine: Engine, policy: LoadedPolicy) -> None:
    clock = SimulatedClock()
    store = BucketStore(engine, policy, clock=clock)
    # Day 0: 6 gurukul writes in one minute by two actors, 1 workflow write; day 1: 2 gurukul writes.
    _write(store, clock, [DAY0 + 10 * MINUTE + s * 1_000_000 for s in range(4)], "gurukul.engineer", 100)
    _write(store, clock, [DAY0 + 10 * MINUTE + 30_000_000 + s for s in range(2)], "gurukul.executor", 100)
    _write(store, clock, [DAY0 + 11 * MINUTE], "workflow.engineer", 40)
    _write(store, clock, [DAY0 + DAY_US + MINUTE, DAY0 + DAY_US + 5 * MINUTE], "gurukul.engineer", 100)
    window = {"window_start_us": DAY0 + DAY_US, "window_end_us": DAY0 + 2 * DAY_US}

    first = run_capacity(engine, policy, **window)
    rows_first = _usage(engine)
    second = run_capacity(engine, policy, **window)

    rows = _usage(engine)
    assert rows == rows_first  # a re-run rewrites the same rows
    assert first.run_id == second.run_id
    assert _count(engine, governance_runs) == 1 and _count(engine, capacity_snapshots) == 1
    # The first run filled the missing earlier day (day 0) as well as its own window's day.
    g0, g1, total0 = rows[("gurukul", 20_500)], rows[("gurukul", 20_501)], rows[(TOTAL, 20_500)]
    assert (g0["bytes_stored"], g0["artifact_versions"], g1["bytes_stored"], g1["artifact_versions"]) == (
        600, 6, 800, 8)  # fmt: skip
    assert (g0["write_rate_max"], g0["concurrent_writers_max"]) == (pytest.approx(6 / 60), 2)
    assert g0["write_rate_p50"] == 0.0  # idle minutes count: one busy minute is not the median
    assert (total0["bytes_stored"], total0["artifact_versions"], total0["concurrent_writers_max"]) == (640, 7, 2)
    assert rows[("workflow", 20_501)]["bytes_stored"] == 40  # carried over a day without writes
    projections = _count(engine, capacity_projections)
    assert projections == len(second.limits) > 0


def _usage(engine: Engine) -> dict[tuple[str, int], dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(capacity_usage_daily)).mappings().all()
    return {(r["scope"], r["day"]): {k: v for k, v in r.items() if k != "computed_at_us"} for r in rows}


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


# -- the demo scenario --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario_db(
    tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy
) -> Iterator[tuple[str, CapacityScenario]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('capacity') / 'bucket.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    scenario = write_capacity_scenario(engine, policy)
    engine.dispose()
    yield url, scenario


@pytest.fixture(scope="module")
def scenario_run(
    scenario_db: tuple[str, CapacityScenario], tmp_path_factory: pytest.TempPathFactory
) -> tuple[CapacityResult, Path]:
    url, scenario = scenario_db
    pictures = tmp_path_factory.mktemp("pictures")
    engine = make_engine(url)
    try:
        result = run_capacity(engine, scenario.policy, window_start_us=scenario.end_us - DAY_US,
                              window_end_us=scenario.end_us, pictures_dir=pictures)  # fmt: skip
    finally:
        engine.dispose()
    return result, pictures


def _quota(result: CapacityResult, product: str):  # type: ignore[no-untyped-def]
    return next(r for r in result.limits if r.spec.name == "product_quota" and r.spec.scope == product)


def test_growing_product_breach_is_predicted_within_tolerance(scenario_run: tuple[CapacityResult, Path]) -> None:
    growing = _quota(scenario_run[0], GROWING)

    days, earliest, latest = (growing.days_to[k] for k in ("critical", "critical_earliest", "critical_latest"))
    assert growing.status == "WARNING" and "will breach the critical level within" in growing.message
    assert abs(days - TRUE_DAYS_TO_CRITICAL) <= 15, growing.days_to
    assert earliest - 5 <= TRUE_DAYS_TO_CRITICAL <= (latest or 365), growing.days_to
    assert scenario_run[0].summary()["breaches_within_12_months"][0]["scope"] == GROWING


def test_flat_product_is_healthy_and_noisy_product_is_unpredictable(scenario_run: tuple[CapacityResult, Path]) -> None:
    flat, noisy = _quota(scenario_run[0], FLAT), _quota(scenario_run[0], NOISY)

    assert (flat.status, flat.days_to["critical"], flat.days_to["critical_earliest"]) == ("HEALTHY", None, None)
    assert noisy.status == "UNPREDICTABLE" and noisy.reasons


def test_totals_name_their_top_contributor(scenario_run: tuple[CapacityResult, Path]) -> None:
    storage = next(r for r in scenario_run[0].limits if r.spec.name == "storage_total")

    assert storage.top_contributors[0]["product_id"] == GROWING


def test_one_picture_per_product_and_one_total(scenario_run: tuple[CapacityResult, Path], policy: LoadedPolicy) -> None:
    result, pictures = scenario_run
    expected = {f"capacity-{p}.png" for p in policy.products} | {"capacity-total.png"}

    assert {p.name for p in result.pictures} == expected == {p.name for p in pictures.iterdir()}
    for path in result.pictures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_cli_prints_the_table_and_exits_1_on_a_warning(
    scenario_db: tuple[str, CapacityScenario], tmp_path: Path
) -> None:
    url, scenario = scenario_db
    env = {**os.environ, "BUCKET_GOV_POLICY_DIR": str(write_policy_dir(scenario.policy, tmp_path / "policy")),
           "BUCKET_GOV_VAR_DIR": str(tmp_path / "var")}  # fmt: skip
    cmd = [sys.executable, "-m", "bucket_governance.cli.main", "--db", url]
    until = ["--until", "2026-08-29T00:00:00Z"]

    human = subprocess.run([*cmd, "capacity", *until, "--no-pictures"], env=env, capture_output=True, text=True)
    doc = subprocess.run([*cmd, "--json", "capacity", *until, "--no-pictures"], env=env, capture_output=True, text=True)
    bad = subprocess.run([*cmd, "capacity", "--until", "yesterday"], env=env, capture_output=True, text=True)

    assert human.returncode == 1, human.stderr
    assert "gurukul       product_quota          WARNING" in human.stdout
    projections = json.loads(doc.stdout)["projections"]
    assert {p["scope"] for p in projections if p["status"] == "UNPREDICTABLE"} == {NOISY}
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr and "Traceback" not in bad.stderr
