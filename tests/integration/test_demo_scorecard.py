"""Issue 4's bar: on the demo with every injection, the pipelines report every incident under its rule (recall
100 %) and nothing else (precision 100 %); on the clean demo they report nothing at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bucket_governance.checks.drift.pipeline import run_drift_check
from bucket_governance.checks.integrity import IntegrityOptions, run_integrity_check
from bucket_governance.checks.threats.scan import scan_window
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.demo import generate_demo
from bucket_governance.demo.baselines import approve_demo_baselines
from bucket_governance.demo.scoring import score
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.findings import list_findings

pytestmark = pytest.mark.integration
END_US = 1_795_824_000_000_000  # 2026-11-28T00:00:00Z, fixed so the run is reproducible
HOUR_US = 3_600_000_000


def run_every_pipeline(engine: Engine, policy: LoadedPolicy, start_us: int, end_us: int) -> list[dict[str, object]]:
    """Drift and integrity first (T3, T5.direct_db_access and T8 read their results), then all 30 rules."""
    run_drift_check(engine, policy, window_start_us=start_us, window_end_us=end_us)
    run_integrity_check(
        engine, policy, window_start_us=start_us, window_end_us=end_us, options=IntegrityOptions(full=True)
    )
    result = scan_window(engine, policy, window_start_us=start_us, window_end_us=end_us)
    assert not [o.rule_id for o in result.outcomes if o.status != "evaluated"], "every rule must be evaluated"
    with engine.connect() as conn:
        return list_findings(conn, limit=5000)


@pytest.fixture(scope="module", params=["all", "none"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy
) -> Iterator[tuple[str, Engine, object]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('scorecard') / 'bucket.db'}")
    upgrade_to_head(engine)
    result = generate_demo(engine, policy, seed=11, days=14, scale=0.3, end_us=END_US, inject=request.param)
    approve_demo_baselines(engine, policy, result.start_us)
    yield request.param, engine, result
    engine.dispose()


def test_recall_and_precision_are_100_percent_and_the_clean_demo_is_silent(
    demo: tuple[str, Engine, object], policy: LoadedPolicy
) -> None:
    inject, engine, result = demo
    found = run_every_pipeline(engine, policy, result.start_us, result.end_us + HOUR_US)  # type: ignore[attr-defined]

    if inject == "none":
        assert found == []
        return
    card = score(result.manifest(), found)  # type: ignore[attr-defined]
    assert card.missed == [], f"incidents not found: {card.missed}"
    assert card.unexpected == [], f"findings no incident explains: {card.unexpected}"
    assert len(card.found) >= 27
