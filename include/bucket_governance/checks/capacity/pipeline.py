"""One capacity-projection run: refresh the usage history, project every limit, store, draw.

The same call serves the daily DAG and ``bucket-gov capacity``. The run is keyed by its window (the data
interval) like every governance run; its projections and snapshot are rewritten when the window re-runs.

No findings are emitted: none of SPEC's 30 rules describes a projected breach (``T1.*`` detect write
bursts, oversized artifacts and metadata in a window — the threat scan's job), and a rule id is a promise
of one detector. The status lives in ``capacity_projections``; CRITICAL limits of a product are listed as
``f8_candidates`` in the summary, for the F8 playbook (docs/capacity.md).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import SQLAlchemyError

from bucket_governance.checks.capacity.projection import (
    SIX_MONTHS,
    TWELVE_MONTHS,
    LimitProjection,
    add_top_contributors,
    evaluate,
    limit_specs,
    worst_status,
)
from bucket_governance.checks.capacity.usage import DAY_US, TOTAL, load_history, refresh_usage
from bucket_governance.db.tables_capacity import capacity_projections, capacity_snapshots
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.runs import finish_run, start_run

log = logging.getLogger(__name__)

PIPELINE = "capacity_projection"
PICTURE_HISTORY_DAYS = 365


@dataclass(frozen=True)
class CapacityResult:
    run_id: str
    as_of_us: int
    status: str
    limits: list[LimitProjection]
    pictures: list[Path]

    def summary(self) -> dict[str, Any]:
        """Small and JSON-able: the run row's summary and the Airflow task's return value."""
        counts: dict[str, int] = {}
        for r in self.limits:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {
            "pipeline": PIPELINE,
            "run_id": self.run_id,
            "as_of_us": self.as_of_us,
            "status": self.status,
            "limits_by_status": counts,
            "breaches_within_12_months": [
                {"limit": r.spec.name, "scope": r.spec.scope, "days_to_critical": r.days_to["critical"]}
                for r in self.limits
                if r.days_to.get("critical") is not None
            ],
            "f8_candidates": sorted({r.spec.scope for r in self.limits if r.status == "CRITICAL"} - {TOTAL}),
            "pictures": [str(p) for p in self.pictures],
        }


def run_capacity(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    window_start_us: int,
    window_end_us: int,
    as_of_us: int | None = None,
    pictures_dir: Path | None = None,
) -> CapacityResult:
    """Refresh the days of the window, project from history up to ``as_of_us`` (default: window end)."""
    run_id = start_run(engine, PIPELINE, window_start_us, window_end_us)
    as_of = window_end_us if as_of_us is None else as_of_us
    try:
        refresh_usage(
            engine, policy.products, window_start_us=window_start_us, window_end_us=window_end_us, run_id=run_id
        )
        limits = project_all(engine, policy, as_of)
        pictures = _draw(limits, pictures_dir)
        result = CapacityResult(run_id, as_of, worst_status(limits), limits, pictures)
        _store(engine, result, pictures_dir)
    except Exception as exc:
        _mark_failed(engine, run_id, exc)
        raise
    finish_run(engine, run_id, "findings" if result.status in ("WARNING", "CRITICAL") else "clean", result.summary())
    log.info("capacity run %s as of %s: %s over %s limits", run_id, as_of, result.status, len(limits))
    return result


def project_all(engine: Engine, policy: LoadedPolicy, as_of_us: int) -> list[LimitProjection]:
    """Every limit's projection from the stored history of the days before ``as_of_us`` (partial day included)."""
    until_day = -(-as_of_us // DAY_US)
    history = load_history(engine, until_day=until_day, days=PICTURE_HISTORY_DAYS)
    results = []
    for spec in limit_specs(policy, sorted(set(history) | set(policy.products))):
        rows = history.get(spec.scope, [])
        results.append(evaluate(spec, [r["day"] for r in rows], [float(r[spec.column]) for r in rows]))
    add_top_contributors(results)
    return results


def _draw(limits: list[LimitProjection], pictures_dir: Path | None) -> list[Path]:
    if pictures_dir is None:
        return []
    from bucket_governance.checks.capacity.pictures import write_pictures

    return write_pictures(limits, pictures_dir)


def _store(engine: Engine, result: CapacityResult, pictures_dir: Path | None) -> None:
    now = time.time_ns() // 1000
    days = [d for r in result.limits for d in r.days]
    with engine.begin() as conn:
        conn.execute(delete(capacity_projections).where(capacity_projections.c.run_id == result.run_id))
        conn.execute(delete(capacity_snapshots).where(capacity_snapshots.c.run_id == result.run_id))
        conn.execute(
            insert(capacity_snapshots).values(
                run_id=result.run_id,
                as_of_us=result.as_of_us,
                first_day=min(days, default=None),
                last_day=max(days, default=None),
                status=result.status,
                summary=json.dumps(result.summary(), sort_keys=True),
                pictures_dir=None if pictures_dir is None else str(pictures_dir),
                created_at_us=now,
            )
        )
        if result.limits:
            conn.execute(insert(capacity_projections), [projection_row(result.run_id, r) for r in result.limits])


def projection_row(run_id: str, r: LimitProjection) -> dict[str, Any]:
    six, twelve = r.at(SIX_MONTHS), r.at(TWELVE_MONTHS)
    quality = {} if r.projection is None else r.projection.quality
    return {
        "run_id": run_id,
        "limit_name": r.spec.name,
        "scope": r.spec.scope,
        "unit": r.spec.unit,
        "current_value": r.current,
        "limit_value": r.spec.limit,
        "warning_level": r.spec.warning,
        "critical_level": r.spec.critical,
        "safe_level": r.spec.safe,
        "status": r.status,
        "model": quality.get("model"),
        **{f"p{q}_6m": None if six is None else six[i] for i, q in enumerate((10, 50, 90))},
        **{f"p{q}_12m": None if twelve is None else twelve[i] for i, q in enumerate((10, 50, 90))},
        "days_to_warning": r.days_to.get("warning"),
        "days_to_critical": r.days_to.get("critical"),
        "days_to_critical_earliest": r.days_to.get("critical_earliest"),
        "days_to_critical_latest": r.days_to.get("critical_latest"),
        "fit": json.dumps({**quality, "reasons": r.reasons}, sort_keys=True),
        "top_contributors": json.dumps(r.top_contributors, sort_keys=True),
        "message": r.message,
    }


def _mark_failed(engine: Engine, run_id: str, exc: Exception) -> None:
    try:
        finish_run(engine, run_id, "failed", {"pipeline": PIPELINE, "run_id": run_id, "error": type(exc).__name__})
    except SQLAlchemyError:
        log.warning("could not mark capacity run %s as failed", run_id, exc_info=True)
