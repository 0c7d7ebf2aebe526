"""T1 Storage exhaustion: write floods, artifacts near the size limit, bytes far above baseline, huge metadata.

All three rules name the product (F8 halts the offending product's writes, no one else's). They count what was
stored — including rows written around the gate — from ``artifact_versions``, and the attempts the gate refused
from the ledger's reason codes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, or_, select

from bucket_governance.bucket.requests import json_depth
from bucket_governance.checks.threats.context import US_PER_DAY, US_PER_SECOND, Hit, RuleContext
from bucket_governance.checks.threats.evidence import SubjectHits
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions

A = artifact_versions
PROVEN_BY = "tests/unit/threats/test_t1.py"


def _in_window(context: RuleContext, start_us: int | None = None) -> Any:
    start = context.window_start_us if start_us is None else start_us
    return (A.c.created_at_us >= start) & (A.c.created_at_us < context.window_end_us)


def _refusals(context: RuleContext, found: SubjectHits, *codes: str) -> None:
    """Refused attempts (the gate said no, with one of ``codes``) count towards the product's hit."""
    for row in context.conn.execute(ledger_in_window(context, or_(*map(reason_is, codes)))):
        item = {"seq": row.seq, "reasons": json.loads(row.reasons), "actor_id": row.actor_id}
        found.add(str(row.product_id), row.product_id, row.recorded_at_us, "refused", item, f"seq:{row.seq}")


# -- T1.rapid_writes ----------------------------------------------------------------------------------------


def _safe_rates(context: RuleContext) -> dict[str, float]:
    """Writes per second each product may sustain: its own policy rate, never above the global safe rate."""
    tier = context.policy.limits.writes_per_second
    safe = tier.safe or tier.max
    return {p.id: min(p.write_rate_per_second or safe, safe) for p in context.policy.products.values()}


@rule(
    "T1.rapid_writes",
    "a product's stored versions per time bucket exceed its safe write rate (its own rate, capped by the global)",
    proven_by=PROVEN_BY,
    thresholds=("rapid_writes_bucket_seconds", "products.write_rate_per_second", "limits.writes_per_second.safe"),
)
def rapid_writes(context: RuleContext) -> Iterable[Hit]:
    seconds = context.thresholds.rapid_writes_bucket_seconds
    rates = _safe_rates(context)
    global_safe = context.policy.limits.writes_per_second.safe or context.policy.limits.writes_per_second.max
    bucket = (A.c.created_at_us // (seconds * US_PER_SECOND)).label("bucket")
    query = (
        select(A.c.product_id, bucket, func.count().label("writes"), func.min(A.c.created_at_us).label("first_us"))
        .where(_in_window(context))
        .group_by(A.c.product_id, bucket)
        .having(func.count() > min(rates.values(), default=global_safe) * seconds)  # the finest cut in SQL
    )
    found = SubjectHits({"bucket_seconds": seconds, "global_safe_rate": global_safe})
    for row in context.conn.execute(query):
        rate = rates.get(row.product_id, global_safe)
        if row.writes > rate * seconds:
            item = {
                "bucket_start_us": int(row.bucket) * seconds * US_PER_SECOND,
                "writes": int(row.writes),
                "writes_per_second": round(row.writes / seconds, 2),
                "safe_rate_per_second": rate,
            }
            found.add(row.product_id, row.product_id, int(row.first_us), "buckets", item, f"bucket:{row.bucket}")
    return found.hits()


# -- T1.large_artifacts -------------------------------------------------------------------------------------


@rule(
    "T1.large_artifacts",
    "versions at or above large_artifact_ratio of the artifact size limit (stored or refused), or a product's "
    "bytes of the day far above its daily baseline",
    proven_by=PROVEN_BY,
    lookback=timedelta(days=8),  # bytes_baseline_days (default 7) before the window's first day
    thresholds=("large_artifact_ratio", "limits.artifact_size", "bytes_growth_factor", "bytes_baseline_days"),
)
def large_artifacts(context: RuleContext) -> Iterable[Hit]:
    th, limit = context.thresholds, int(context.policy.limits.artifact_size)
    floor = int(th.large_artifact_ratio * limit)
    found = SubjectHits({"size_floor_bytes": floor, "artifact_size_limit": limit})
    large = select(A.c.artifact_id, A.c.version, A.c.product_id, A.c.size_bytes, A.c.created_at_us, A.c.ledger_seq)
    for row in context.conn.execute(large.where(_in_window(context), A.c.size_bytes >= floor)):
        item = {"artifact_id": row.artifact_id, "version": row.version, "size_bytes": row.size_bytes}
        key = f"version:{row.artifact_id}@{row.version}"
        found.add(row.product_id, row.product_id, row.created_at_us, "large_versions", item, key)
    _refusals(context, found, "payload_too_large")
    _byte_growth(context, found)
    return found.hits()


def _byte_growth(context: RuleContext, found: SubjectHits) -> None:
    """Per product and UTC day touched by the window: the day's bytes vs the mean day of the days before it.

    The baseline needs at least one full day of history before the day (a first, partial day would make any
    normal day look like growth); it is the bytes of the look-back divided by the time it actually covers.
    """
    th = context.thresholds
    first_day = context.window_start_us // US_PER_DAY
    day = (A.c.created_at_us // US_PER_DAY).label("day")
    in_window = A.c.created_at_us >= context.window_start_us
    query = (
        select(
            A.c.product_id,
            day,
            func.sum(A.c.size_bytes).label("bytes"),
            func.sum(case((in_window, A.c.size_bytes), else_=0)).label("window_bytes"),
            func.min(A.c.created_at_us).label("first_us"),
        )
        .where(_in_window(context, (first_day - th.bytes_baseline_days) * US_PER_DAY))
        .group_by(A.c.product_id, day)
    )
    days: dict[str, dict[int, Any]] = defaultdict(dict)
    for row in context.conn.execute(query):
        days[row.product_id][int(row.day)] = row
    for product_id, by_day in sorted(days.items()):
        for d, row in sorted(by_day.items()):
            if d >= first_day and row.window_bytes > 0:
                _check_day(
                    found,
                    product_id,
                    d,
                    row,
                    [by_day[b] for b in range(d - th.bytes_baseline_days, d) if b in by_day],
                    th.bytes_growth_factor,
                )


def _check_day(found: SubjectHits, product_id: str, d: int, row: Any, before: list[Any], factor: float) -> None:
    if not before:
        return
    covered_days = (d * US_PER_DAY - min(int(r.first_us) for r in before)) / US_PER_DAY
    if covered_days < 1:
        return
    baseline = sum(int(r.bytes) for r in before) / covered_days
    if int(row.bytes) > factor * baseline:
        item = {
            "day_start_us": d * US_PER_DAY,
            "bytes": int(row.bytes),
            "baseline_bytes_per_day": round(baseline),
            "growth_factor": factor,
        }
        found.add(product_id, product_id, max(int(row.first_us), d * US_PER_DAY), "byte_growth", item, f"day:{d}")


# -- T1.metadata_explosion ----------------------------------------------------------------------------------


def _bracket_count() -> Any:
    """Opening brackets in the metadata text, in portable SQL: a JSON value nests at most this deep."""
    m = A.c.metadata
    return 2 * func.length(m) - func.length(func.replace(m, "{", "")) - func.length(func.replace(m, "[", ""))


@rule(
    "T1.metadata_explosion",
    "metadata at or above metadata_size_ratio of its limit, or nested deeper than allowed (stored or refused)",
    proven_by=PROVEN_BY,
    thresholds=("metadata_size_ratio", "limits.metadata_size", "limits.metadata_max_depth"),
)
def metadata_explosion(context: RuleContext) -> Iterable[Hit]:
    limits = context.policy.limits
    floor = int(context.thresholds.metadata_size_ratio * int(limits.metadata_size))
    max_depth = limits.metadata_max_depth
    found = SubjectHits({"metadata_size_floor": floor, "metadata_max_depth": max_depth})
    size = func.length(A.c.metadata).label("metadata_chars")
    query = select(A.c.artifact_id, A.c.version, A.c.product_id, A.c.created_at_us, size).where(
        _in_window(context), or_(size >= floor, _bracket_count() > max_depth)
    )
    for row in context.conn.execute(query):
        depth = _depth_of(context, row.artifact_id, row.version)
        if row.metadata_chars < floor and depth <= max_depth:
            continue  # many brackets, but side by side rather than nested
        item = {"artifact_id": row.artifact_id, "version": row.version, "metadata_chars": row.metadata_chars}
        key = f"version:{row.artifact_id}@{row.version}"
        found.add(row.product_id, row.product_id, row.created_at_us, "versions", {**item, "depth": depth}, key)
    _refusals(context, found, "metadata_too_large", "metadata_too_deep")
    return found.hits()


def _depth_of(context: RuleContext, artifact_id: str, version: int) -> int:
    """Parse one candidate's metadata (only rows SQL already singled out are ever loaded)."""
    text = context.conn.execute(
        select(A.c.metadata).where(A.c.artifact_id == artifact_id, A.c.version == version)
    ).scalar_one()
    try:
        return json_depth(json.loads(text))
    except json.JSONDecodeError:
        return 0
