"""Every DAG file parses, carries the metadata operators rely on, and stays cheap to parse.

The scheduler's DAG processor re-imports each file every 30 s: an import error hides the DAG, and a heavy
import at the top of a file (pandas, Great Expectations) costs seconds at every parse (FACTS.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DAG

pytestmark = pytest.mark.unit

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))

# One tag for the project, one per pipeline family (SPEC §3); a new family adds its tag here, on purpose.
APPROVED_TAGS = frozenset(
    {
        "bucket-governance",
        "threat-scan",
        "schema-drift",
        "capacity-projection",
        "audit-integrity",
        "playbook",
        "escalation",
        *(f"playbook-f{n}" for n in range(1, 11)),
    }
)
MIN_RETRIES = 2

# Modules a DAG file must not pull in at parse time. airflow.sdk itself already imports SQLAlchemy, so
# "sqlalchemy" cannot be checked here; what would bring database work to parse time is our own db layer
# (engine, migrations, tables), so bucket_governance.db is checked instead.
HEAVY_MODULES = ("pandas", "numpy", "great_expectations", "matplotlib", "bucket_governance.db")

_PARSE_PROBE = """
import importlib.util, json, sys
import airflow.sdk  # the baseline every DAG file pays anyway
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=DAGS_FOLDER)


def _dags_in(dagbag: DagBag, dag_file: Path) -> list[DAG]:
    return [dag for dag in dagbag.dags.values() if Path(dag.fileloc) == dag_file]


def test_the_dag_folder_has_dags() -> None:
    assert DAG_FILES, f"no DAG files in {DAGS_FOLDER}"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_without_errors(dagbag: DagBag, dag_file: Path) -> None:
    errors = {path: error for path, error in dagbag.import_errors.items() if Path(path).name == dag_file.name}

    assert not errors, f"{dag_file.name} failed to import: {errors}"
    assert _dags_in(dagbag, dag_file), f"{dag_file.name} defines no DAG"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dags_carry_tags_owner_retries_and_docs(dagbag: DagBag, dag_file: Path) -> None:
    for dag in _dags_in(dagbag, dag_file):
        assert dag.tags and set(dag.tags) <= APPROVED_TAGS, f"{dag.dag_id}: tags {sorted(dag.tags)} not approved"
        assert dag.doc_md and dag.doc_md.strip(), f"{dag.dag_id}: no doc_md"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag.dag_id}.{task.task_id}: owner {task.owner!r}"
            assert (task.retries or 0) >= MIN_RETRIES, f"{dag.dag_id}.{task.task_id}: retries {task.retries}"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_parsing_leaves_heavy_modules_out(dag_file: Path) -> None:
    # A fresh interpreter: this test process has long imported SQLAlchemy, the library and more.
    completed = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(dag_file)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    added = json.loads(completed.stdout.strip().splitlines()[-1])

    heavy = [m for m in added if any(m == h or m.startswith(h + ".") for h in HEAVY_MODULES)]
    assert not heavy, f"parsing {dag_file.name} imported {heavy}: import them inside execute() or the task"
