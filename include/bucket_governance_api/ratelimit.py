"""Per-product rate limits from the policy: one token bucket per (product, read|write).

Each product has its own buckets, so a product that exhausts its rate is refused (429 with
``Retry-After``) while every other product keeps its full rate. A bucket holds at most one second of
its rate (the burst) and refills continuously. Products without a rate in the policy fall back to the
global ``writes_per_second`` / ``reads_per_second`` maxima.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bucket_governance.policy import LoadedPolicy

Kind = Literal["read", "write"]
Clock = Callable[[], float]


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
    def __init__(self, policy: LoadedPolicy, clock: Clock = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._buckets: dict[tuple[str, Kind], _Bucket] = {}
        self._lock = threading.Lock()

    def rate_of(self, product_id: str, kind: Kind) -> float:
        product = self._policy.products.get(product_id)
        limits = self._policy.limits
        if kind == "write":
            own = product.write_rate_per_second if product else None
            return own or limits.writes_per_second.max
        own = product.read_rate_per_second if product else None
        return own or limits.reads_per_second.max

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
