"""Daily usage history, aggregated in SQL from ``artifact_versions`` and ``ledger_entries``.

Per scope (each product, and ``_total``) and UTC day: bytes and artifact versions stored at the end of the
day (cumulative), what was added that day, the write and read rates in requests per second (p50 / p99 /
max over the day's 1,440 one-minute buckets, idle minutes counted as zero) and the most distinct actors
writing in one minute. SQL does the grouping (``recorded_at_us // 60_000_000`` per minute, one code path
for SQLite and PostgreSQL); numpy only takes percentiles of the per-minute counts it returns.

Rows are rewritten per day, so a run over the same window produces the same rows (idempotent).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, distinct, func, insert, literal, select

from bucket_governance.db.tables import artifact_versions, ledger_entries
from bucket_governance.db.tables_capacity import capacity_usage_daily

DAY_US = 86_400_000_000
MINUTE_US = 60_000_000
MINUTES_PER_DAY = 1_440
TOTAL = "_total"  # cannot collide with a product id (they start with a letter)
MAX_HISTORY_DAYS = 400  # a run fills missing days at most this far back


@dataclass
class _DayUsage:
    bytes_added: int = 0
    versions_added: int = 0
    write_minutes: list[int] = field(default_factory=list)  # requests in each active minute
    read_minutes: list[int] = field(default_factory=list)
    writers_max: int = 0


def refresh_usage(
    engine: Engine, products: Iterable[str], *, window_start_us: int, window_end_us: int, run_id: str | None
) -> tuple[int, int]:
    """Recompute the whole UTC days the window touches, plus any missing earlier day; returns the day range.

    The first run on an existing Bucket therefore builds the full history (up to ``MAX_HISTORY_DAYS``),
    and a daily run afterwards only its own day.
    """
    first_day = window_start_us // DAY_US
    end_day = -(-max(window_end_us, window_start_us + 1) // DAY_US)  # ceil: a partial last day counts
    with engine.begin() as conn:
        first_day = min(first_day, _first_missing_day(conn, first_day))
        _rewrite_days(conn, sorted(set(products)), first_day, end_day, window_end_us, run_id)
    return first_day, end_day


def _first_missing_day(conn: Connection, window_first_day: int) -> int:
    """The earliest day between the Bucket's first activity and the window that has no history row yet."""
    first_us = conn.execute(select(func.min(ledger_entries.c.recorded_at_us))).scalar_one_or_none()
    if first_us is None:
        return window_first_day
    start = max(int(first_us) // DAY_US, window_first_day - MAX_HISTORY_DAYS)
    have = set(
        conn.execute(
            select(capacity_usage_daily.c.day).where(
                capacity_usage_daily.c.scope == TOTAL,
                capacity_usage_daily.c.day >= start,
                capacity_usage_daily.c.day < window_first_day,
            )
        ).scalars()
    )
    missing = [d for d in range(start, window_first_day) if d not in have]
    return missing[0] if missing else window_first_day


def _rewrite_days(
    conn: Connection, products: list[str], first_day: int, end_day: int, until_us: int, run_id: str | None
) -> None:
    lo, hi = first_day * DAY_US, min(end_day * DAY_US, until_us)
    base = _stored_before(conn, lo)
    days = _versions_per_day(conn, lo, hi)
    _add_minutes(conn, days, lo, hi)
    scopes = [*sorted((set(products) | set(base) | {s for s, _ in days}) - {TOTAL}), TOTAL]
    now = time.time_ns() // 1000
    rows = list(_rows(scopes, base, days, first_day, end_day, now, run_id))
    conn.execute(
        delete(capacity_usage_daily).where(
            capacity_usage_daily.c.day >= first_day, capacity_usage_daily.c.day < end_day
        )
    )
    if rows:
        conn.execute(insert(capacity_usage_daily), rows)


def _day(column: Any) -> Any:
    # Integer floor division renders as a plain "/" on both dialects for integer operands.
    return column // literal(DAY_US)


def _stored_before(conn: Connection, lo: int) -> dict[str, tuple[int, int]]:
    av = artifact_versions.c
    query = (
        select(av.product_id, func.coalesce(func.sum(av.size_bytes), 0), func.count())
        .where(av.created_at_us < lo)
        .group_by(av.product_id)
    )
    base = {str(p): (int(b), int(n)) for p, b, n in conn.execute(query)}
    base[TOTAL] = (sum(b for b, _ in base.values()), sum(n for _, n in base.values()))
    return base


def _versions_per_day(conn: Connection, lo: int, hi: int) -> dict[tuple[str, int], _DayUsage]:
    av = artifact_versions.c
    day = _day(av.created_at_us).label("day")
    query = (
        select(av.product_id, day, func.sum(av.size_bytes), func.count())
        .where(av.created_at_us >= lo, av.created_at_us < hi)
        .group_by(av.product_id, day)
    )
    days: dict[tuple[str, int], _DayUsage] = defaultdict(_DayUsage)
    for product, d, b, n in conn.execute(query):
        for scope in (str(product), TOTAL):
            usage = days[(scope, int(d))]
            usage.bytes_added += int(b)
            usage.versions_added += int(n)
    return days


def _add_minutes(conn: Connection, days: dict[tuple[str, int], _DayUsage], lo: int, hi: int) -> None:
    """Per-minute request counts (and distinct writers) per product and in total."""
    le = ledger_entries.c
    minute = (le.recorded_at_us // literal(MINUTE_US)).label("minute")
    in_window = (le.recorded_at_us >= lo, le.recorded_at_us < hi, le.operation.in_(("CREATE", "READ")))
    per_product = (
        select(le.product_id, le.operation, minute, func.count(), func.count(distinct(le.actor_id)))
        .where(*in_window)
        .group_by(le.product_id, le.operation, minute)
    )
    total = (
        select(literal(TOTAL), le.operation, minute, func.count(), func.count(distinct(le.actor_id)))
        .where(*in_window)
        .group_by(le.operation, minute)
    )
    for query in (per_product, total):
        for scope, operation, m, count, actors in conn.execute(query):
            usage = days[(str(scope), int(m) * MINUTE_US // DAY_US)]
            if operation == "CREATE":
                usage.write_minutes.append(int(count))
                usage.writers_max = max(usage.writers_max, int(actors))
            else:
                usage.read_minutes.append(int(count))


def _rows(
    scopes: list[str],
    base: dict[str, tuple[int, int]],
    days: dict[tuple[str, int], _DayUsage],
    first_day: int,
    end_day: int,
    now: int,
    run_id: str | None,
) -> Iterable[dict[str, Any]]:
    for scope in scopes:
        stored, versions = base.get(scope, (0, 0))
        for d in range(first_day, end_day):
            usage = days.get((scope, d), _DayUsage())
            stored += usage.bytes_added
            versions += usage.versions_added
            yield {
                "scope": scope,
                "day": d,
                "bytes_stored": stored,
                "artifact_versions": versions,
                "bytes_added": usage.bytes_added,
                "versions_added": usage.versions_added,
                **_rates("write", usage.write_minutes),
                **_rates("read", usage.read_minutes),
                "concurrent_writers_max": usage.writers_max,
                "computed_at_us": now,
                "run_id": run_id,
            }


def _rates(kind: str, minute_counts: list[int]) -> dict[str, float]:
    """p50 / p99 / max requests per second over all minutes of the day (idle minutes are zeros)."""
    if not minute_counts:
        return {f"{kind}_rate_p50": 0.0, f"{kind}_rate_p99": 0.0, f"{kind}_rate_max": 0.0}
    import numpy as np

    counts = np.zeros(max(MINUTES_PER_DAY, len(minute_counts)))
    counts[: len(minute_counts)] = minute_counts
    p50, p99 = np.percentile(counts, [50, 99]) / 60.0
    return {f"{kind}_rate_p50": float(p50), f"{kind}_rate_p99": float(p99), f"{kind}_rate_max": max(minute_counts) / 60}


def load_history(engine: Engine, *, until_day: int, days: int) -> dict[str, list[dict[str, Any]]]:
    """History rows per scope for the ``days`` days before ``until_day`` (exclusive), oldest first."""
    query = (
        select(capacity_usage_daily)
        .where(capacity_usage_daily.c.day < until_day, capacity_usage_daily.c.day >= until_day - days)
        .order_by(capacity_usage_daily.c.scope, capacity_usage_daily.c.day)
    )
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            history[row["scope"]].append(dict(row))
    return dict(history)
