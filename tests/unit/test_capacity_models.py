"""Capacity models: robust fits, the back-test of the P10–P90 band, and the status rules.

Back-test: 150 synthetic series with known trend and noise (three families: a counter growing linearly, a
counter whose daily additions compound, a noisy level with a trend), 90 days of history, scored 60 days
ahead against the series' own realised future. Tolerance: the band holds the truth in 70–90 % of cases
overall (nominal 80 %) and in at least 60 % of every family; the projection's P50 is closer to the truth
than the naive last value in at least 75 % of cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from bucket_governance.checks.capacity.models import project, theil_sen
from bucket_governance.checks.capacity.projection import LimitSpec, evaluate

pytestmark = pytest.mark.unit

HISTORY, AHEAD, PER_FAMILY = 90, 60, 50


def _series(family: str, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(HISTORY + AHEAD, dtype=np.float64)
    if family == "counter_linear":
        daily = rng.uniform(5, 50) + rng.normal(0, rng.uniform(2, 20), t.size)
        return 1000 + np.cumsum(np.maximum(daily, 0))
    if family == "counter_compounding":
        daily = 20 * np.exp(rng.uniform(0.003, 0.015) * t) * (1 + rng.normal(0, 0.3, t.size))
        return 1000 + np.cumsum(np.maximum(daily, 0))
    return 50 + rng.uniform(0, 0.5) * t + rng.normal(0, rng.uniform(1, 10), t.size)


def test_backtest_band_holds_the_truth_about_80_percent_and_beats_the_naive_forecast() -> None:
    rng = np.random.default_rng(20261128)
    covered: dict[str, list[bool]] = {}
    beats_naive = []
    for family in ("counter_linear", "counter_compounding", "level"):
        for _ in range(PER_FAMILY):
            y = _series(family, rng)
            t = np.arange(HISTORY, dtype=np.float64)
            p = project(t, y[:HISTORY], AHEAD, cumulative=family != "level")
            truth = y[HISTORY + AHEAD - 1]
            covered.setdefault(family, []).append(bool(p.p10[-1] <= truth <= p.p90[-1]))
            beats_naive.append(abs(p.p50[-1] - truth) < abs(y[HISTORY - 1] - truth))

    overall = np.mean([c for cs in covered.values() for c in cs])
    per_family = {f: float(np.mean(c)) for f, c in covered.items()}
    assert 0.70 <= overall <= 0.90, per_family
    assert min(per_family.values()) >= 0.60, per_family
    assert np.mean(beats_naive) >= 0.75


def test_theil_sen_ignores_a_burst_that_would_tilt_least_squares() -> None:
    t = np.arange(30, dtype=np.float64)
    y = 2.0 * t + 5.0
    y[25] += 500.0  # one burst day

    slope, intercept = theil_sen(t, y)

    assert slope == pytest.approx(2.0, abs=1e-9)
    assert intercept == pytest.approx(5.0, abs=1e-9)
    assert np.polyfit(t, y, 1)[0] > 3.0  # the near miss: least squares is pulled off


def _spec(cumulative: bool = True) -> LimitSpec:
    return LimitSpec("product_quota", "p", "bytes_stored", "bytes", cumulative, 1000.0, 900.0, 990.0)


def test_status_rules_on_crafted_histories() -> None:
    days = list(range(20000, 20090))
    rng = np.random.default_rng(3)
    flat = [300.0] * 90
    steady = [100.0 + 5.0 * i for i in range(90)]  # 545 now, +5/day: critical (990) in 89 days
    slow = [100.0 + 2.0 * i for i in range(90)]  # 278 now: critical in ~356 days
    over = [950.0] * 90
    bursts = (rng.random(90) < 0.05) * rng.uniform(0, 180, 90)
    erratic = list(100.0 + np.cumsum(bursts))  # rare bursts of random size: no trend to trust

    assert evaluate(_spec(), days, flat).status == "HEALTHY"
    assert evaluate(_spec(), days, flat).days_to["critical"] is None
    warned = evaluate(_spec(), days, steady)
    assert warned.status == "WARNING" and warned.days_to["critical"] == pytest.approx(89, abs=3)
    assert "will breach the critical level within" in warned.message
    assert evaluate(_spec(), days, slow).status == "HEALTHY"  # near miss: breach beyond 90 days
    assert evaluate(_spec(), days, over).status == "WARNING"
    assert evaluate(_spec(), days, [995.0] * 90).status == "CRITICAL"
    assert evaluate(_spec(), days, erratic).status == "UNPREDICTABLE"
    assert evaluate(_spec(), days[:10], flat[:10]).status == "UNPREDICTABLE"  # too little history


def test_rates_are_never_projected_below_zero() -> None:
    t = np.arange(60, dtype=np.float64)
    y = np.maximum(10.0 - 0.2 * t, 0.0)

    p = project(t, y, 365, cumulative=False)

    assert float(p.p10.min()) >= 0.0
