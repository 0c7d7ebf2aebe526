"""Shared fixtures: real databases (a SQLite file, a PostgreSQL server), the demo policy, a store.

PostgreSQL tests need ``BUCKET_GOV_TEST_PG_URL`` (an admin URL of a running server; ``.ci/run`` and
``make test-pg`` start one). Without it they skip — unless ``BUCKET_GOV_REQUIRE_PG=1`` (set by CI), where
a missing server is an error, so CI can never pass with the PostgreSQL half silently skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.policy import LoadedPolicy, load_policy

PROJECT_ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = PROJECT_ROOT / "include" / "policy"


def _pg_admin_url() -> str:
    url = os.environ.get("BUCKET_GOV_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("BUCKET_GOV_REQUIRE_PG") == "1":
        pytest.fail("BUCKET_GOV_REQUIRE_PG=1 but BUCKET_GOV_TEST_PG_URL is not set: PostgreSQL tests must run here")
    pytest.skip("PostgreSQL tests need BUCKET_GOV_TEST_PG_URL (run `make test-pg` to start a server)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = _pg_admin_url()
    name = f"bg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bucket.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on a SQLite file and once on PostgreSQL: one code path, two dialects."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade_to_head(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def policy() -> LoadedPolicy:
    return load_policy(POLICY_DIR)


@pytest.fixture
def store(engine: Engine, policy: LoadedPolicy) -> BucketStore:
    return BucketStore(engine, policy)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test must say what it is: unit or integration (STYLE.md: a marker on each test)."""
    for item in items:
        if not ({"unit", "integration"} & {m.name for m in item.iter_markers()}):
            raise pytest.UsageError(f"{item.nodeid} has neither a 'unit' nor an 'integration' marker")
