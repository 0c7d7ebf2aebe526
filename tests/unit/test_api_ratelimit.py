"""Per-product token buckets: a product over its rate waits, another product does not notice."""

from __future__ import annotations

import pytest

from bucket_governance.policy import LoadedPolicy
from bucket_governance_api.ratelimit import MAX_LEASE, SECOND_US, RateLimiter, _Window, lease_size

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


@pytest.mark.parametrize(("rate", "lease"), [(0.05, 1), (1, 1), (5, 1), (10, 1), (11, 2), (100, 10), (1e9, MAX_LEASE)])
def test_small_rates_lease_one_token_at_a_time(rate: float, lease: int) -> None:
    """Up to 10/s every request is one round trip, so a small rate is shared exactly between processes."""
    assert lease_size(rate) == lease


def test_a_full_window_reopens_when_the_previous_windows_weight_slides_off() -> None:
    window = _Window.at(5 * SECOND_US, rate=10)  # the start of a one-second window, 10 requests
    previous = 10  # a full previous window: it weighs 10 now, 5 halfway, 0 at the end

    assert window.allowed(previous) == 0
    assert window.reopens_us(previous, allowed=0) == 5 * SECOND_US + SECOND_US // 10  # weight 9: room for 1
    assert window.reopens_us(previous, allowed=9) == 6 * SECOND_US  # room for 10 only when it is gone
    assert window.reopens_us(0, allowed=10) == 6 * SECOND_US  # no previous: full until the window ends
