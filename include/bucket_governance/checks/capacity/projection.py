"""Which limits grow, how each is projected, and the status each one gets.

Limits of SPEC §1 that grow with use, per product: its storage quota, its artifact count, its write and read
rates (against the product's own rates in the policy); in total: storage, artifacts, writes/s, reads/s and
concurrent writers. Levels: warning and critical at the storage ratios of the policy (90 % / 99 % by
default) unless the limit has its own warning level; the safe level where the policy names one.

Status of a limit:

* ``CRITICAL`` — the current value is at or above the critical level;
* ``WARNING`` — at or above the warning level, or the P50 projection reaches the critical level within
  ``WARN_WITHIN_DAYS`` (the message says "will breach within N days");
* ``UNPREDICTABLE`` — not enough history, or the trend does not fit: the P10–P90 band six months out (or
  where the P50 reaches the critical level, if sooner) spans more than ``MAX_BAND_SHARE`` of the limit, or the trend explains less than ``MIN_R2`` of the variance while
  claiming a material change (more than ``MATERIAL_SHARE`` of the limit in six months);
* ``HEALTHY`` — otherwise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bucket_governance.checks.capacity.usage import TOTAL

if TYPE_CHECKING:
    from bucket_governance.checks.capacity.models import Array, Projection
    from bucket_governance.policy import LoadedPolicy
    from bucket_governance.policy.models import Tiered

HORIZON_DAYS = 365
SIX_MONTHS, TWELVE_MONTHS = 182, 365
FIT_WINDOW_DAYS = 90
MIN_HISTORY_DAYS = 14
WARN_WITHIN_DAYS = 90
MAX_BAND_SHARE = 0.5
MIN_R2 = 0.5
MATERIAL_SHARE = 0.1
STATUS_ORDER = ("HEALTHY", "UNPREDICTABLE", "WARNING", "CRITICAL")  # worst last
# per-product limit -> the total it adds up to (for "top contributors")
CONTRIBUTES_TO = {
    "product_quota": "storage_total",
    "artifacts_per_product": "artifacts_total",
    "product_write_rate": "writes_per_second",
    "product_read_rate": "reads_per_second",
}


@dataclass(frozen=True)
class LimitSpec:
    name: str
    scope: str
    column: str  # the capacity_usage_daily column that is projected
    unit: str
    cumulative: bool
    limit: float
    warning: float
    critical: float
    safe: float | None = None


@dataclass
class LimitProjection:
    spec: LimitSpec
    days: list[int]  # history days (days since the epoch), for the picture
    values: list[float]
    current: float
    status: str
    message: str
    projection: Projection | None = None
    reasons: list[str] = field(default_factory=list)
    days_to: dict[str, int | None] = field(default_factory=dict)
    top_contributors: list[dict[str, Any]] = field(default_factory=list)

    def at(self, horizon: int) -> tuple[float, float, float] | None:
        if self.projection is None:
            return None
        k = horizon - 1
        return float(self.projection.p10[k]), float(self.projection.p50[k]), float(self.projection.p90[k])


def limit_specs(policy: LoadedPolicy, scopes: list[str]) -> list[LimitSpec]:
    limits = policy.limits
    ratios = (limits.storage.warning_ratio, limits.storage.critical_ratio)
    specs: list[LimitSpec] = []
    for scope in scopes:
        product = policy.products.get(scope)
        if product is None:
            continue  # a product no longer in the policy still counts in the totals
        specs.append(_ratio_spec("product_quota", scope, "bytes_stored", "bytes", True, float(product.quota), ratios))
        specs.append(_tier_spec("artifacts_per_product", scope, "artifact_versions", "versions", True,
                                limits.artifacts_per_product, ratios))  # fmt: skip
        for name, column, rate in (
            ("product_write_rate", "write_rate_p99", product.write_rate_per_second),
            ("product_read_rate", "read_rate_p99", product.read_rate_per_second),
        ):
            if rate is not None:
                specs.append(_ratio_spec(name, scope, column, "req/s", False, rate, ratios))
    specs += [
        _ratio_spec("storage_total", TOTAL, "bytes_stored", "bytes", True, float(limits.storage.total), ratios),
        _tier_spec("artifacts_total", TOTAL, "artifact_versions", "versions", True, limits.artifacts_total, ratios),
        _tier_spec("writes_per_second", TOTAL, "write_rate_p99", "req/s", False, limits.writes_per_second, ratios),
        _tier_spec("reads_per_second", TOTAL, "read_rate_p99", "req/s", False, limits.reads_per_second, ratios),
        _tier_spec(
            "concurrent_writers", TOTAL, "concurrent_writers_max", "writers", False, limits.concurrent_writers, ratios
        ),
    ]
    return specs


def _ratio_spec(
    name: str, scope: str, column: str, unit: str, cumulative: bool, limit: float, ratios: tuple[float, float]
) -> LimitSpec:
    return LimitSpec(name, scope, column, unit, cumulative, limit, ratios[0] * limit, ratios[1] * limit)


def _tier_spec(
    name: str, scope: str, column: str, unit: str, cumulative: bool, tier: Tiered, ratios: tuple[float, float]
) -> LimitSpec:
    warning = tier.warning if tier.warning is not None else ratios[0] * tier.max
    return LimitSpec(name, scope, column, unit, cumulative, tier.max, warning, ratios[1] * tier.max, tier.safe)


def evaluate(spec: LimitSpec, days: list[int], values: list[float]) -> LimitProjection:
    """Project one limit from its history (oldest first) and give it a status."""
    import numpy as np

    current = values[-1] if values else 0.0
    result = LimitProjection(spec, days, values, current, "HEALTHY", "")
    fit_days = np.asarray(days[-FIT_WINDOW_DAYS:], dtype=np.float64)
    if fit_days.size < MIN_HISTORY_DAYS:
        result.reasons.append(f"only {fit_days.size} day(s) of history; at least {MIN_HISTORY_DAYS} are needed")
    else:
        y = np.asarray(values[-FIT_WINDOW_DAYS:], dtype=np.float64)
        result.projection = _project(spec, fit_days - fit_days[-1], y)
        result.days_to = _days_to_levels(spec, result.projection)
        result.reasons += _unpredictable_reasons(spec, result, current)
    result.status, result.message = _status(spec, result, current)
    return result


def _project(spec: LimitSpec, t: Array, y: Array) -> Projection:
    from bucket_governance.checks.capacity.models import project

    # A stable seed per limit and scope: the same history always gives the same band.
    seed = int.from_bytes(hashlib.sha256(f"{spec.name}\x00{spec.scope}".encode()).digest()[:4], "big")
    return project(t, y, HORIZON_DAYS, cumulative=spec.cumulative, seed=seed)


def _first_day_at(path: Array, level: float) -> int | None:
    import numpy as np

    hits = np.nonzero(path >= level)[0]
    return int(hits[0]) + 1 if hits.size else None


def _days_to_levels(spec: LimitSpec, projection: Projection) -> dict[str, int | None]:
    return {
        "warning": _first_day_at(projection.p50, spec.warning),
        "critical": _first_day_at(projection.p50, spec.critical),
        "critical_earliest": _first_day_at(projection.p90, spec.critical),
        "critical_latest": _first_day_at(projection.p10, spec.critical),
    }


def _unpredictable_reasons(spec: LimitSpec, result: LimitProjection, current: float) -> list[str]:
    # Judged six months out, or where the P50 reaches the critical level if sooner: past a breach the
    # spread no longer matters, before it it is what the forecast is worth.
    horizon = min(SIX_MONTHS, result.days_to.get("critical") or SIX_MONTHS)
    band = result.at(horizon)
    assert band is not None and result.projection is not None
    p10, p50, p90 = band
    reasons = []
    if p90 - p10 > MAX_BAND_SHARE * spec.limit:
        reasons.append(f"the P10–P90 band in {horizon} days spans {(p90 - p10) / spec.limit:.0%} of the limit")
    r2 = float(result.projection.quality["r2"])
    if r2 < MIN_R2 and abs(p50 - current) > MATERIAL_SHARE * spec.limit:
        reasons.append(f"the trend explains only {max(r2, 0.0):.0%} of the variance (R²)")
    return reasons


def _status(spec: LimitSpec, result: LimitProjection, current: float) -> tuple[str, str]:
    share = f"{current / spec.limit:.0%} of the limit"
    critical_in = result.days_to.get("critical")
    if current >= spec.critical:
        return "CRITICAL", f"at {share}, above the critical level"
    if current >= spec.warning:
        return "WARNING", f"at {share}, above the warning level" + _breach_text(result)
    if result.reasons:
        return "UNPREDICTABLE", f"at {share}; no projection: " + "; ".join(result.reasons)
    if critical_in is not None and critical_in <= WARN_WITHIN_DAYS:
        return "WARNING", f"at {share}" + _breach_text(result)
    if critical_in is not None:
        return "HEALTHY", f"at {share}" + _breach_text(result)
    return "HEALTHY", f"at {share}; no breach projected within 12 months"


def _breach_text(result: LimitProjection) -> str:
    days = result.days_to
    if days.get("critical") is None:
        return ""
    earliest, latest = days.get("critical_earliest"), days.get("critical_latest")
    band = f"{earliest}–{latest if latest is not None else '>365'}"
    return f"; will breach the critical level within {days['critical']} days (P90–P10: {band} days)"


def add_top_contributors(results: list[LimitProjection], top: int = 3) -> None:
    """For each total, the products adding most: projected 12-month growth (counters) or current rate."""
    by_total: dict[str, list[tuple[str, float]]] = {}
    for r in results:
        total_name = CONTRIBUTES_TO.get(r.spec.name)
        if total_name is not None:
            by_total.setdefault(total_name, []).append((r.spec.scope, _contribution(r)))
    for r in results:
        shares = sorted(by_total.get(r.spec.name, []), key=lambda kv: -kv[1])
        whole = sum(v for _, v in shares)
        r.top_contributors = [
            {"product_id": p, "value": v, "share": (v / whole if whole > 0 else 0.0)} for p, v in shares[:top] if v > 0
        ]


def _contribution(r: LimitProjection) -> float:
    band = r.at(TWELVE_MONTHS)
    if not r.spec.cumulative or band is None:
        return r.current
    return max(band[1] - r.current, 0.0)


def worst_status(results: list[LimitProjection]) -> str:
    return max((r.status for r in results), key=STATUS_ORDER.index, default="HEALTHY")
