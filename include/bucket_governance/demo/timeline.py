"""Simulated time for the demo: hour slots, the daily and weekly activity shape, and event times.

The store takes writes and reads in separate calls and the ledger must stay in time order, so every switch
between a write and a read costs a transaction. Each simulated hour is therefore split into three phases,
which keeps it to two transactions:

* ``:00–:50`` the hour's writes (one ``create_batch`` per 500) — spread over most of the hour, so write
  rates per minute or per 15-minute window stay close to the hourly shape (capacity and rate baselines);
* ``:50–:57`` the hour's reads (one ``submit_batch`` per 500) — reads are bursty, but even at scale 5 a busy
  hour reads well under one artifact per second, against a policy limit of 50;
* ``:57–:60`` a quiet band where injected incidents happen, so they never interleave with clean events and
  the ledger clock only ever moves forward.

"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US

WRITE_PHASE_US = (0, 50 * MINUTE_US)
READ_PHASE_US = (50 * MINUTE_US, 57 * MINUTE_US)
QUIET_BAND_US = (57 * MINUTE_US, HOUR_US)


@dataclass(frozen=True)
class Timeline:
    """``days`` whole days of hour slots ending at an hour boundary (UTC)."""

    start_us: int
    days: int

    @classmethod
    def ending_at(cls, end_us: int, days: int) -> Timeline:
        # Whole hours keep the daily shape aligned with wall-clock hours.
        aligned_end = end_us - end_us % HOUR_US
        return cls(start_us=aligned_end - days * DAY_US, days=days)

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * DAY_US

    @property
    def hours(self) -> int:
        return self.days * 24

    def hour_start(self, index: int) -> int:
        return self.start_us + index * HOUR_US

    def hour_of_day(self, index: int) -> int:
        return (self.hour_start(index) // HOUR_US) % 24

    def weekday(self, index: int) -> int:
        """Monday is 0, as in :meth:`datetime.weekday`."""
        return datetime.fromtimestamp(self.hour_start(index) // SECOND_US, tz=UTC).weekday()

    def fraction(self, index: int) -> float:
        """How far through the history hour ``index`` lies, 0.0 … <1.0."""
        return index / self.hours

    def quiet_band(self, index: int) -> tuple[int, int]:
        start = self.hour_start(index)
        return start + QUIET_BAND_US[0], start + QUIET_BAND_US[1]


@dataclass(frozen=True)
class ActivityShape:
    """Relative activity by hour of day (UTC) and weekday, with a gentle growth over the history."""

    hourly: tuple[float, ...]
    weekday: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    growth: float = 0.3  # the last day is this much busier than the first: a trend for capacity projection

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or len(self.weekday) != 7:
            raise ValueError("an activity shape needs 24 hourly and 7 weekday weights")

    def weight(self, timeline: Timeline, index: int) -> float:
        trend = 1.0 + self.growth * timeline.fraction(index)
        return self.hourly[timeline.hour_of_day(index)] * self.weekday[timeline.weekday(index)] * trend


def allocate(total: int, shape: ActivityShape, timeline: Timeline, rng: random.Random) -> list[int]:
    """Spread ``total`` events over the hours of ``timeline`` in proportion to ``shape`` (a random draw)."""
    if total <= 0:
        return [0] * timeline.hours
    weights = [shape.weight(timeline, i) for i in range(timeline.hours)]
    drawn = Counter(rng.choices(range(timeline.hours), weights=weights, k=total))
    return [drawn.get(i, 0) for i in range(timeline.hours)]


def draw_times(rng: random.Random, hour_start_us: int, count: int, phase: tuple[int, int]) -> list[int]:
    """``count`` distinct, increasing times inside one phase of one hour (no two entries share an instant)."""
    return sorted(rng.sample(range(hour_start_us + phase[0], hour_start_us + phase[1]), count))


class SimulatedClock:
    """The store's clock during the demo: it hands out the planned time of each ledger entry, in order.

    The store calls its clock exactly once per ledger entry, in entry order, so loading the planned times of a
    batch right before sending it gives every entry its simulated time — and a miscount fails loudly.
    """

    def __init__(self) -> None:
        self._planned: deque[int] = deque()
        self.last_us = 0

    def load(self, times_us: list[int]) -> None:
        if self._planned:
            raise RuntimeError(f"{len(self._planned)} planned times were never used: the batch and its times disagree")
        self._planned.extend(times_us)

    def __call__(self) -> int:
        if not self._planned:
            raise RuntimeError("the store asked for more times than were planned for this batch")
        self.last_us = self._planned.popleft()
        return self.last_us
