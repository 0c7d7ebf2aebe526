"""How long the capacity projection takes for 100 products × 365 days of history.

The history is synthetic (written straight into ``capacity_usage_daily`` on a fresh SQLite database — this
measures the projection, not the SQL aggregation, which a daily run does for one day only): each product
grows linearly, compounds, or is flat, with noise. Timed: ``project_all`` (load the history, fit and
compare both models, bootstrap the band for every limit — 4 per product + 5 totals = 405 limits) and,
separately, drawing the 101 pictures. Best of ``--trials``. JSON to bench/results/capacity_projection.json.

    python bench/capacity_projection.py [--products 100] [--days 365] [--trials 3] [--pictures]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import ByteSize
from sqlalchemy import insert

from bucket_governance.checks.capacity.pictures import write_pictures
from bucket_governance.checks.capacity.pipeline import project_all
from bucket_governance.checks.capacity.usage import DAY_US, TOTAL
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables_capacity import capacity_usage_daily
from bucket_governance.policy import LoadedPolicy, load_policy

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
FIRST_DAY = 20_000


def many_products(base: LoadedPolicy, count: int) -> LoadedPolicy:
    template = base.policy.products[0]
    products = [
        template.model_copy(update={"id": f"product{i:03d}", "quota": ByteSize(100 * 10**9)}) for i in range(count)
    ]
    return LoadedPolicy(policy=base.policy.model_copy(update={"products": products}), sources=base.sources)


def history_rows(products: list[str], days: int, seed: int = 1) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    totals = np.zeros((days, 3))
    for i, product in enumerate(products):
        t = np.arange(days, dtype=np.float64)
        daily = [200e6 + 0 * t, 100e6 * np.exp(0.004 * t), 5e6 + 0 * t][i % 3] * (1 + rng.normal(0, 0.3, days))
        stored = np.cumsum(np.maximum(daily, 0.0))
        versions = np.cumsum(rng.poisson(2_000, days))
        rate = np.maximum(2 + 0.01 * t + rng.normal(0, 0.5, days), 0.0)
        totals += np.column_stack([stored, versions, rate])
        rows += _rows(product, stored, versions, rate)
    rows += _rows(TOTAL, totals[:, 0], totals[:, 1], totals[:, 2])
    return rows


def _rows(scope: str, stored: np.ndarray, versions: np.ndarray, rate: np.ndarray) -> list[dict[str, object]]:
    return [
        {
            "scope": scope, "day": FIRST_DAY + d, "bytes_stored": int(stored[d]), "artifact_versions": int(versions[d]),
            "bytes_added": 0, "versions_added": 0, "write_rate_p50": rate[d] / 2, "write_rate_p99": float(rate[d]),
            "write_rate_max": float(rate[d]) * 2, "read_rate_p50": 0.0, "read_rate_p99": float(rate[d]) / 2,
            "read_rate_max": float(rate[d]), "concurrent_writers_max": 3, "computed_at_us": 0, "run_id": None,
        }
        for d in range(stored.size)
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="capacity projection benchmark")
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--pictures", action="store_true", help="also time drawing every picture (slow: matplotlib)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()

    policy = many_products(load_policy(ROOT / "include" / "policy"), args.products)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade_to_head(engine)
        with engine.begin() as conn:
            conn.execute(insert(capacity_usage_daily), history_rows(sorted(policy.products), args.days))
        as_of = (FIRST_DAY + args.days) * DAY_US
        trials = []
        for _ in range(args.trials):
            started = time.perf_counter()
            limits = project_all(engine, policy, as_of)
            trials.append(time.perf_counter() - started)
        picture_seconds = None
        if args.pictures:
            started = time.perf_counter()
            write_pictures(limits, Path(tmp) / "pictures")
            picture_seconds = round(time.perf_counter() - started, 2)
        engine.dispose()

    result = {
        "benchmark": "capacity_projection",
        "products": args.products,
        "history_days": args.days,
        "limits_projected": len(limits),
        "statistic": "best of trials (median also given)",
        "projection_seconds": round(min(trials), 2),
        "median_projection_seconds": round(sorted(trials)[len(trials) // 2], 2),
        "trials_seconds": [round(s, 2) for s in trials],
        "pictures_seconds": picture_seconds,
        "statuses": {s: sum(1 for r in limits if r.status == s) for s in sorted({r.status for r in limits})},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "capacity_projection.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.products} products × {args.days} days: {len(limits)} limits projected in"
        f" {result['projection_seconds']} s (best of {args.trials}; median {result['median_projection_seconds']} s)"
        + (f"; {args.products + 1} pictures in {picture_seconds} s" if picture_seconds is not None else "")
    )


if __name__ == "__main__":
    main()
