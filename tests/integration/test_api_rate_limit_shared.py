"""Rate limits shared by several API processes through the governance database, on both dialects.

Two apps, each with its own engine and limiter (as two uvicorn workers or two Airflow API servers would
have), on one database, over real HTTP. The rates are one request per 20-second window, so the outcome
does not depend on how fast the test runs: the sliding window refuses a second request for at least 20 s.
Leases (several tokens per round trip) are tested at the library level with a controlled clock: four
limiters, each with its own engine, flooding one product never admit more than its windows allow.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select
from tests.api_helpers import client, serve
from tests.integration.test_api_http import GURUKUL, WORKFLOW, with_rates

from bucket_governance.db import make_engine
from bucket_governance.db.tables_ratelimit import api_rate_windows
from bucket_governance.policy import LoadedPolicy
from bucket_governance.settings import Settings
from bucket_governance_api import create_app
from bucket_governance_api.ratelimit import DatabaseRateLimiter, lease_size

pytestmark = pytest.mark.integration
SLOW = 0.05  # requests per second: one per 20-second window


@pytest.fixture
def two_servers(
    engine: Engine, db_url: str, policy: LoadedPolicy, request: pytest.FixtureRequest
) -> Iterator[list[str]]:
    """Two API servers on the same (migrated) database, with the limiter backend named by the test."""
    backend = request.param
    slow = with_rates(policy, write=SLOW, read=SLOW)
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            own_engine = make_engine(db_url)  # each "process" has its own engine and limiter
            stack.callback(own_engine.dispose)
            app = create_app(settings=Settings(api_rate_limit_backend=backend), engine=own_engine, policy=slow)
            urls.append(stack.enter_context(serve(app)))
        yield urls


@pytest.mark.parametrize("two_servers", ["database"], indirect=True)
def test_two_servers_share_one_products_rate(two_servers: list[str]) -> None:
    first, second = two_servers
    with client(first, *GURUKUL) as a, client(second, *GURUKUL) as b, client(second, *WORKFLOW) as other:
        granted = a.post("/audit/log", json={"note": "the one write of this window"})
        refused = b.post("/audit/log", json={"note": "same product, other server"})
        other_product = other.post("/audit/log", json={"note": "another product"})
        own_read = b.get("/audit/recent")

    assert granted.status_code == 201
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert other_product.status_code == 201  # per-product isolation holds across servers too
    assert own_read.status_code == 200  # reads are counted apart from writes


@pytest.mark.parametrize("two_servers", ["memory"], indirect=True)
def test_in_memory_limits_are_per_server(two_servers: list[str]) -> None:
    """The near miss: with the in-process backend each server allows the full rate on its own."""
    first, second = two_servers
    with client(first, *GURUKUL) as a, client(second, *GURUKUL) as b:
        on_first = a.post("/audit/log", json={"note": "first server"})
        on_second = b.post("/audit/log", json={"note": "second server"})

    assert (on_first.status_code, on_second.status_code) == (201, 201)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_refills_at_the_policy_rate(engine: Engine, policy: LoadedPolicy) -> None:
    clock = FakeClock(1_000_000.0)  # a whole second: the start of a one-second window
    limiter = DatabaseRateLimiter(with_rates(policy, write=2, read=2), engine, clock)

    burst = [limiter.acquire("gurukul", "write") for _ in range(3)]
    clock.now += 1.0  # the next window: the previous one (2 granted) still weighs fully
    at_start = limiter.acquire("gurukul", "write")
    clock.now += 0.5  # half of it has slid by: room for one
    halfway = [limiter.acquire("gurukul", "write") for _ in range(2)]

    assert burst == [0, 0, 1]
    assert at_start == 1
    assert halfway == [0, 1]


def test_old_windows_are_deleted_as_the_api_goes(engine: Engine, policy: LoadedPolicy) -> None:
    now = 2_000_000.0
    stale = int((now - 600) * 1_000_000)
    with engine.begin() as conn:
        conn.execute(
            insert(api_rate_windows).values(product_id="gurukul", kind="read", window_start_us=stale, granted=9)
        )
    limiter = DatabaseRateLimiter(policy, engine, FakeClock(now))

    assert limiter.acquire("workflow", "read") == 0

    with engine.connect() as conn:
        windows = conn.execute(
            select(api_rate_windows.c.product_id, func.count()).group_by(api_rate_windows.c.product_id)
        ).all()
    assert windows == [("workflow", 1)]


FAST = 100  # requests per second: one-second windows, leases of 10 tokens
TICKS = 20  # clock steps per window


def _flood(limiters: list[DatabaseRateLimiter], clock: FakeClock, windows: int) -> dict[str, list[list[float]]]:
    """Per product, per one-second window, when each admitted request was admitted (fraction of the window).

    ``gurukul`` asks three times its rate, spread over the limiters in a seeded random order;
    ``workflow`` asks a fifth of its rate at the same time.
    """
    order = random.Random(8)
    start = clock.now
    admitted: dict[str, list[list[float]]] = {"gurukul": [], "workflow": []}
    for window in range(windows):
        for lists in admitted.values():
            lists.append([])
        for tick in range(TICKS):
            clock.now = start + window + tick / TICKS  # set, not summed: no drift across window boundaries
            demand = ["gurukul"] * (3 * FAST // TICKS) + ["workflow"] * (FAST // 5 // TICKS)
            order.shuffle(demand)
            for product in demand:
                if order.choice(limiters).acquire(product, "write") == 0:
                    admitted[product][-1].append(tick / TICKS)
    return admitted


@pytest.fixture
def four_limiters(db_url: str, engine: Engine, policy: LoadedPolicy) -> Iterator[tuple[list[DatabaseRateLimiter], Any]]:
    """Four limiters ("processes"), each with its own engine, on one database; and a count of upserts."""
    clock = FakeClock(3_000_000.0)
    fast = with_rates(policy, write=FAST, read=FAST)
    upserts = [0]
    with ExitStack() as stack:
        limiters = []
        for _ in range(4):
            own_engine = make_engine(db_url)
            stack.callback(own_engine.dispose)
            limiters.append(DatabaseRateLimiter(fast, own_engine, clock))

            @event.listens_for(own_engine, "before_cursor_execute")
            def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
                upserts[0] += statement.lstrip().upper().startswith("INSERT INTO API_RATE_WINDOWS")

        yield limiters, (clock, upserts)


def test_leasing_limiters_never_admit_more_than_the_window_allows(
    four_limiters: tuple[list[DatabaseRateLimiter], Any],
) -> None:
    limiters, (clock, upserts) = four_limiters
    assert lease_size(FAST) == 10

    admitted = _flood(limiters, clock, windows=4)["gurukul"]

    for previous, current in zip([[], *admitted], admitted, strict=False):
        assert len(current) <= FAST  # the fixed-window bound
        for count, at in enumerate(current, start=1):  # the sliding bound, at every admission
            assert count + len(previous) * (1.0 - at) <= FAST
    assert len(admitted[0]) == FAST  # saturated, with no previous window: no leased token is stranded
    assert sum(map(len, admitted)) >= 2 * FAST  # slid windows still admit at the rate, roughly
    assert upserts[0] < sum(map(len, admitted)) / 4  # leases: far fewer round trips than admissions


def test_a_product_flooding_its_limit_leaves_another_its_rate(
    four_limiters: tuple[list[DatabaseRateLimiter], Any],
) -> None:
    limiters, (clock, _) = four_limiters

    admitted = _flood(limiters, clock, windows=2)

    assert [len(w) for w in admitted["workflow"]] == [FAST // 5] * 2  # everything it asked for
    assert all(len(w) <= FAST for w in admitted["gurukul"])
