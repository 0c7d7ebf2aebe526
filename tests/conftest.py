"""Shared fixtures: real databases (a SQLite file, a PostgreSQL server), the demo policy, a store.

PostgreSQL tests need ``BUCKET_GOV_TEST_PG_URL`` (an admin URL of a running server; ``.ci/run`` and
``make test-pg`` start one). Without it they skip — unless ``BUCKET_GOV_REQUIRE_PG=1`` (set by CI), where
a missing server is an error, so CI can never pass with the PostgreSQL half silently skipped.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
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

# -- a throwaway Airflow for every test that parses or runs DAGs ------------------------------------------
# Airflow reads AIRFLOW_HOME and its configuration once, when `airflow` is first imported. So the environment
# is set in pytest_configure, before any test module imports Airflow, and the metadata database is (re)built
# once per session by the `airflow_db` fixture. Nothing touches ~/airflow or a developer's own Airflow.

DAGS_FOLDER = PROJECT_ROOT / "dags"
_HOME_ENV = "_BUCKET_GOV_TEST_AIRFLOW_HOME"  # marks the environment as set up (this process or a parent)
_saved_env_key = pytest.StashKey[dict[str, str | None]]()


def airflow_test_env(home: Path) -> dict[str, str]:
    """The variables that make Airflow self-contained in ``home`` and load only this project's DAGs."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        # Explicit, so a developer's AIRFLOW__DATABASE__SQL_ALCHEMY_CONN can never be reset by resetdb().
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        _HOME_ENV: str(home),
    }


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(_HOME_ENV):
        return  # already set up (e.g. by a parent pytest process)
    if "airflow" in sys.modules:
        raise pytest.UsageError(
            "Airflow was imported before tests/conftest.py could point AIRFLOW_HOME at a temporary "
            "directory; import airflow inside tests or fixtures, not at the top of a root conftest or plugin"
        )
    home = Path(tempfile.mkdtemp(prefix="bucket-gov-airflow-"))
    config.stash[_saved_env_key] = {name: os.environ.get(name) for name in airflow_test_env(home)}
    os.environ.update(airflow_test_env(home))


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_saved_env_key, None)
    if saved is None:
        return
    shutil.rmtree(os.environ[_HOME_ENV], ignore_errors=True)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """A fresh, migrated Airflow metadata database in the temporary AIRFLOW_HOME, for tests that run DAGs.

    Parsing (DagBag) needs no database; ``dag.test()`` does.
    """
    from airflow.utils import db

    db.resetdb()
    yield Path(os.environ["AIRFLOW_HOME"])


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
