"""Rate limits shared by several API processes through the governance database, on both dialects.

Two apps, each with its own engine and limiter (as two uvicorn workers or two Airflow API servers would
have), on one database, over real HTTP. The rates are one request per 20-second window, so the outcome
does not depend on how fast the test runs: the sliding window refuses a second request for at least 20 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Engine, func, insert, select
from tests.api_helpers import client, serve
from tests.integration.test_api_http import GURUKUL, WORKFLOW, with_rates

from bucket_governance.db import make_engine
from bucket_governance.db.tables_ratelimit import api_rate_windows
from bucket_governance.policy import LoadedPolicy
from bucket_governance.settings import Settings
from bucket_governance_api import create_app
from bucket_governance_api.ratelimit import DatabaseRateLimiter

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
