"""Per-product rate limits from the policy: read and write rates, kept apart per product.

A product over its rate is refused (429 with ``Retry-After``) while every other product keeps its full
rate. Products without a rate in the policy fall back to the global ``writes_per_second`` /
``reads_per_second`` maxima. Two backends, both with ``acquire(product_id, kind) -> seconds to wait``:

* :class:`RateLimiter` (``memory``) — one token bucket per (product, kind) in this process; a bucket holds
  one second of its rate (the burst) and refills continuously. N API processes allow N times the rate.
* :class:`DatabaseRateLimiter` (``database``) — counters in ``api_rate_windows`` on the governance
  database, shared by every API process on it (uvicorn workers, Airflow API servers), so together they
  allow the policy rate once. A sliding window: the current window's count plus the previous window's
  weighted by how much of it still overlaps the last window length. A process leases tokens — one atomic
  upsert that counts ``lease_size(rate)`` of them (or what is left) only when they all fit, on SQLite and
  PostgreSQL alike — and serves requests from its lease without a round trip until it runs out or the window moves on.
  Leased tokens are counted before they are used, so N processes never admit more than the window allows;
  unused ones expire with their window (slight under-admission, at most N × (lease − 1) a window). Rates up
  to 10/s lease one token at a time: exactly shared. A full window is remembered until it can reopen, so a
  product flooding its limit is refused without a round trip.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bucket_governance.db.tables_ratelimit import api_rate_windows
from bucket_governance.policy import LoadedPolicy

Kind = Literal["read", "write"]
Clock = Callable[[], float]
SECOND_US = 1_000_000
MAX_WINDOW_US = 60 * SECOND_US  # a rate below one a minute still gets one request a minute
KEEP_US = 2 * MAX_WINDOW_US  # the previous window is read, so rows go once they are two windows old
SWEEP_EVERY_S = 10.0
# A lease is a tenth of a second's rate: at 500 req/s a process makes ~10 round trips a second, not 500,
# and leaves at most 49 tokens unused when a window ends. Capped so a huge rate does not strand a lot.
LEASE_FRACTION = 0.1
MAX_LEASE = 50


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

    def reopens_us(self, previous: int, allowed: int) -> int:
        """When ``allowed`` first grows past its value now — a full window cannot take a request before.

        It grows only as the previous window's weight slides off; with none, not before the window ends.
        Computed late by a rounding error, it only delays the next round trip: never over-admission.
        """
        end_us = self.start_us + self.length_us
        room = self.capacity - allowed - 1  # the previous window's weight must fall to this
        if previous == 0 or room < 0:
            return end_us
        return min(end_us, self.start_us + math.ceil((1.0 - room / previous) * self.length_us))

    def retry_after_s(self, now_us: int) -> int:
        return max(1, math.ceil((self.start_us + self.length_us - now_us) / SECOND_US))


def lease_size(rate: float) -> int:
    """Tokens one database round trip takes: a tenth of a second's rate, at least 1, at most ``MAX_LEASE``.

    A rate up to 10/s leases one token at a time, so small rates stay exactly shared between processes.
    """
    return min(MAX_LEASE, max(1, math.ceil(rate * LEASE_FRACTION)))


@dataclass
class _Lease:
    """One process's share of one (product, kind) window: tokens counted in the database, not yet used."""

    start_us: int  # the window the tokens belong to; they expire with it
    tokens: int = 0
    closed_until_us: int = 0  # the window was full; it cannot open before this, so nobody asks before


class DatabaseRateLimiter:
    """Sliding-window counters in the governance database, shared by every API process using it.

    Tokens are counted in the database before they are used, ``lease_size(rate)`` per round trip, and used
    from memory until the lease runs out or the window moves on. Unused tokens expire with their window:
    processes together may admit a little less than the rate, never more. When fewer than a lease are
    left, a process takes what is left.
    """

    def __init__(self, policy: LoadedPolicy, engine: Engine, clock: Clock = time.time) -> None:
        self._policy = policy
        self._engine = engine
        self._clock = clock
        self._next_sweep = 0.0
        self._leases: dict[tuple[str, Kind], _Lease] = {}
        self._locks: dict[tuple[str, Kind], threading.Lock] = {}
        self._guard = threading.Lock()

    def rate_of(self, product_id: str, kind: Kind) -> float:
        return policy_rate(self._policy, product_id, kind)

    def acquire(self, product_id: str, kind: Kind) -> int:
        """0 when the request may proceed (and is counted), else the whole seconds to wait."""
        rate = self.rate_of(product_id, kind)
        # One lock per (product, kind): while one thread leases, the others of that key wait for its
        # tokens instead of each taking a lease; other keys are not held up. The clock is read inside it,
        # so a thread that waited never brings back a window another thread has already left.
        with self._lock_of((product_id, kind)):
            now_us = int(self._clock() * SECOND_US)
            window = _Window.at(now_us, rate)
            lease = self._leases.get((product_id, kind))
            if lease is None or lease.start_us != window.start_us:
                lease = self._leases[(product_id, kind)] = _Lease(window.start_us)
            if lease.tokens == 0 and now_us >= lease.closed_until_us:
                self._refill(lease, window, product_id, kind, now_us, lease_size(rate))
            if lease.tokens == 0:
                return window.retry_after_s(now_us)
            lease.tokens -= 1
        return 0

    def _lock_of(self, key: tuple[str, Kind]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _refill(self, lease: _Lease, window: _Window, product_id: str, kind: Kind, now_us: int, size: int) -> None:
        """Lease up to ``size`` tokens of the window — what is left if fewer — in one transaction."""
        with self._engine.begin() as conn:
            self._sweep(conn, now_us)
            previous, current = _counts(conn, product_id, kind, window.start_us, window.length_us)
            allowed = window.allowed(previous)
            want = min(size, allowed - current)
            got = _take(conn, product_id, kind, window.start_us, allowed, want)
            if got == 0 and want > 1:  # another process took some between our read and write (PostgreSQL)
                got = _take(conn, product_id, kind, window.start_us, allowed, 1)
        lease.tokens = got
        if got == 0:
            lease.closed_until_us = window.reopens_us(previous, allowed)

    def _sweep(self, conn: Connection, now_us: int) -> None:
        # Every few seconds per process, not per request: the delete is cheap but not free.
        if now_us / SECOND_US < self._next_sweep:
            return
        self._next_sweep = now_us / SECOND_US + SWEEP_EVERY_S
        conn.execute(delete(api_rate_windows).where(api_rate_windows.c.window_start_us < now_us - KEEP_US))


def _counts(conn: Connection, product_id: str, kind: str, start_us: int, length_us: int) -> tuple[int, int]:
    """Tokens counted in the previous and the current window, in one SELECT."""
    t = api_rate_windows.c
    rows = conn.execute(
        select(t.window_start_us, t.granted).where(
            t.product_id == product_id, t.kind == kind, t.window_start_us.in_([start_us - length_us, start_us])
        )
    ).all()
    found = {int(start): int(granted) for start, granted in rows}
    return found.get(start_us - length_us, 0), found.get(start_us, 0)


def _take(conn: Connection, product_id: str, kind: str, start_us: int, allowed: int, want: int) -> int:
    """Count ``want`` tokens in the window if they all fit under ``allowed``: ``want``, else 0.

    One statement, atomic on both dialects: INSERT … ON CONFLICT DO UPDATE … WHERE granted + want <=
    allowed RETURNING returns no row when they do not fit (SQLite ≥ 3.35, PostgreSQL ≥ 9.5), so however
    processes interleave, a window never counts more than ``allowed``.
    """
    if want < 1:
        return 0
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    t = api_rate_windows.c
    row = dialect_insert(api_rate_windows).values(
        product_id=product_id, kind=kind, window_start_us=start_us, granted=want
    )
    statement = row.on_conflict_do_update(
        index_elements=[t.product_id, t.kind, t.window_start_us],
        set_={"granted": t.granted + want},
        where=t.granted + want <= allowed,
    ).returning(t.granted)
    return want if conn.execute(statement).first() is not None else 0


def make_limiter(backend: str, policy: LoadedPolicy, engine: Engine) -> RateLimiter | DatabaseRateLimiter:
    return DatabaseRateLimiter(policy, engine) if backend == "database" else RateLimiter(policy)
