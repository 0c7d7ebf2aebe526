"""A throwaway Airflow for the DAG tests: its own AIRFLOW_HOME, metadata database and DAG folder.

Airflow reads ``AIRFLOW_HOME`` and its configuration once, when ``airflow`` is first imported, and creates
its engine then. So the environment is set in ``pytest_configure`` — pytest calls it as soon as it loads
this conftest, before any test module here imports Airflow — and the metadata database is (re)built once
per session by the ``airflow_db`` fixture. Nothing touches ``~/airflow`` or a developer's own Airflow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
            "Airflow was imported before tests/dags/conftest.py could point AIRFLOW_HOME at a temporary "
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
