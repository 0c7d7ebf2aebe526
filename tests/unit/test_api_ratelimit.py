"""Per-product token buckets: a product over its rate waits, another product does not notice."""

from __future__ import annotations

import pytest

from bucket_governance.policy import LoadedPolicy
from bucket_governance_api.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_product_exhausting_its_writes_does_not_slow_another(policy: LoadedPolicy) -> None:
    clock = FakeClock()
    limiter = RateLimiter(policy, clock)
    gurukul_rate = int(policy.products["gurukul"].write_rate_per_second or 0)

    granted = [limiter.acquire("gurukul", "write") for _ in range(gurukul_rate)]
    refused = limiter.acquire("gurukul", "write")
    other = [limiter.acquire("workflow", "write") for _ in range(50)]
    reads = limiter.acquire("gurukul", "read")

    assert granted == [0] * gurukul_rate
    assert refused == 1  # Retry-After in whole seconds
    assert other == [0] * 50
    assert reads == 0  # reads and writes are separate buckets


def test_the_bucket_refills_at_the_policy_rate(policy: LoadedPolicy) -> None:
    clock = FakeClock()
    limiter = RateLimiter(policy, clock)
    rate = policy.products["gurukul"].read_rate_per_second or 0
    while limiter.acquire("gurukul", "read") == 0:
        pass

    clock.now += 1.5 / rate  # one and a half tokens of time: one request, not two
    after_one_token = limiter.acquire("gurukul", "read")
    again = limiter.acquire("gurukul", "read")

    assert after_one_token == 0
    assert again >= 1


def test_products_without_a_rate_fall_back_to_the_global_maximum(policy: LoadedPolicy) -> None:
    limiter = RateLimiter(policy)

    assert limiter.rate_of("no-such-product", "write") == policy.limits.writes_per_second.max
    assert limiter.rate_of("no-such-product", "read") == policy.limits.reads_per_second.max
