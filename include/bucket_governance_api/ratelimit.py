"""Per-product rate limits from the policy: read and write rates, kept apart per product.

A product over its rate is refused (429 with ``Retry-After``) while every other product keeps its full
rate. Products without a rate in the policy fall back to the global ``writes_per_second`` /
``reads_per_second`` maxima. Two backends, both with ``acquire(product_id, kind) -> seconds to wait``:

* :class:`RateLimiter` (``memory``) — one token bucket per (product, kind) in this process; a bucket holds
  one second of its rate (the burst) and refills continuously. N API processes allow N times the rate.
* :class:`DatabaseRateLimiter` (``database``) — counters in ``api_rate_windows`` on the governance
  database, shared by every API process on it (uvicorn workers, Airflow API servers), so together they
  allow the policy rate once. A sliding window: the current window's count plus the previous window's
  weighted by how much of it still overlaps the last window length; the increment is one atomic upsert
  that only counts a request when it fits, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bucket_governance.db.tables_ratelimit import api_rate_windows
from bucket_governance.policy import LoadedPolicy

Kind = Literal["read", "write"]
Clock = Callable[[], float]
SECOND_US = 1_000_000
MAX_WINDOW_US = 60 * SECOND_US  # a rate below one a minute still gets one request a minute
KEEP_US = 2 * MAX_WINDOW_US  # the previous window is read, so rows go once they are two windows old
SWEEP_EVERY_S = 10.0


def policy_rate(policy: LoadedPolicy, product_id: str, kind: Kind) -> float:
    product = policy.products.get(product_id)
    limits = policy.limits
    if kind == "write":
        own = product.write_rate_per_second if product else None
        return own or limits.writes_per_second.max
    own = product.read_rate_per_second if product else None
    return own or limits.reads_per_second.max


@dataclass
class _Bucket:
    rate: float  # tokens per second
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; 0.0 when granted, else the seconds until one is available."""
        self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """In-process token buckets: no database round trip, but each process has its own."""

    def __init__(self, policy: LoadedPolicy, clock: Clock = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._buckets: dict[tuple[str, Kind], _Bucket] = {}
        self._lock = threading.Lock()

    def rate_of(self, product_id: str, kind: Kind) -> float:
        return policy_rate(self._policy, product_id, kind)

    def acquire(self, product_id: str, kind: Kind) -> int:
        """0 when the request may proceed, else the whole seconds to wait (for ``Retry-After``)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((product_id, kind))
            if bucket is None:
                rate = self.rate_of(product_id, kind)
                bucket = self._buckets[(product_id, kind)] = _Bucket(rate, max(rate, 1.0), now)
            wait = bucket.take(now)
        return 0 if wait == 0.0 else max(1, math.ceil(wait))


@dataclass(frozen=True)
class _Window:
    """Where ``now`` falls: the window's start and length, and how many requests it may still hold."""

    start_us: int
    length_us: int
    capacity: float  # requests per window at the policy rate
    elapsed: float  # fraction of the window gone

    @classmethod
    def at(cls, now_us: int, rate: float) -> _Window:
        length_us = min(MAX_WINDOW_US, max(SECOND_US, math.ceil(SECOND_US / rate)))
        start_us = now_us - now_us % length_us
        capacity = max(1.0, rate * length_us / SECOND_US)
        return cls(start_us, length_us, capacity, (now_us - start_us) / length_us)

    def allowed(self, previous: int) -> int:
        """How many requests this window may count in all, given the previous window's count."""
        return math.floor(self.capacity - previous * (1.0 - self.elapsed))

    def retry_after_s(self, now_us: int) -> int:
        return max(1, math.ceil((self.start_us + self.length_us - now_us) / SECOND_US))


class DatabaseRateLimiter:
    """Sliding-window counters in the governance database, shared by every API process using it."""

    def __init__(self, policy: LoadedPolicy, engine: Engine, clock: Clock = time.time) -> None:
        self._policy = policy
        self._engine = engine
        self._clock = clock
        self._next_sweep = 0.0

    def rate_of(self, product_id: str, kind: Kind) -> float:
        return policy_rate(self._policy, product_id, kind)

    def acquire(self, product_id: str, kind: Kind) -> int:
        """0 when the request may proceed (and is counted), else the whole seconds to wait."""
        now_us = int(self._clock() * SECOND_US)
        window = _Window.at(now_us, self.rate_of(product_id, kind))
        with self._engine.begin() as conn:
            self._sweep(conn, now_us)
            previous = _granted(conn, product_id, kind, window.start_us - window.length_us)
            allowed = window.allowed(previous)
            counted = allowed >= 1 and _count_if_below(conn, product_id, kind, window.start_us, allowed)
        return 0 if counted else window.retry_after_s(now_us)

    def _sweep(self, conn: Connection, now_us: int) -> None:
        # Every few seconds per process, not per request: the delete is cheap but not free.
        if now_us / SECOND_US < self._next_sweep:
            return
        self._next_sweep = now_us / SECOND_US + SWEEP_EVERY_S
        conn.execute(delete(api_rate_windows).where(api_rate_windows.c.window_start_us < now_us - KEEP_US))


def _key(product_id: str, kind: str, start_us: int) -> Any:
    t = api_rate_windows.c
    return and_(t.product_id == product_id, t.kind == kind, t.window_start_us == start_us)


def _granted(conn: Connection, product_id: str, kind: str, start_us: int) -> int:
    found = conn.execute(select(api_rate_windows.c.granted).where(_key(product_id, kind, start_us))).scalar()
    return int(found or 0)


def _count_if_below(conn: Connection, product_id: str, kind: str, start_us: int, allowed: int) -> bool:
    """Count one request in the window unless it already holds ``allowed``; whether it was counted.

    One statement, atomic on both dialects: INSERT … ON CONFLICT DO UPDATE … WHERE granted < allowed
    RETURNING granted returns no row when the window is full (SQLite ≥ 3.35, PostgreSQL ≥ 9.5).
    """
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    t = api_rate_windows.c
    row = dialect_insert(api_rate_windows).values(product_id=product_id, kind=kind, window_start_us=start_us, granted=1)
    statement = row.on_conflict_do_update(
        index_elements=[t.product_id, t.kind, t.window_start_us],
        set_={"granted": t.granted + 1},
        where=t.granted < allowed,
    ).returning(t.granted)
    return conn.execute(statement).first() is not None


def make_limiter(backend: str, policy: LoadedPolicy, engine: Engine) -> RateLimiter | DatabaseRateLimiter:
    return DatabaseRateLimiter(policy, engine) if backend == "database" else RateLimiter(policy)
