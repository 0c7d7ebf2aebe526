"""docker-compose.yml is for users (no Docker engine here): it must at least be a valid Compose file that
wires PostgreSQL, Redis and the Airflow services the way docs and the Dockerfile expect."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="Debian's docker-compose is not installed (.ci/run installs it)"
)


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMPOSE), "-f", str(path), "config"], capture_output=True, text=True, timeout=60, cwd=path.parent
    )


@needs_compose
def test_compose_file_is_valid_and_runs_airflow_on_celery_with_postgres() -> None:
    result = compose_config(ROOT / "docker-compose.yml")

    assert result.returncode == 0, result.stderr
    import yaml

    config = yaml.safe_load(result.stdout)
    services = set(config["services"])
    assert {"postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-worker"} <= services
    env = config["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert json.loads(env["AIRFLOW_CONN_BUCKET_GOVERNANCE_DB"])["extra"]["url"].startswith("postgresql+psycopg://")


@needs_compose
def test_an_invalid_compose_file_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml")
        .read_text()
        .replace("    image: redis:7\n", "    image: redis:7\n    no_such_key: 1\n")
    )

    assert compose_config(broken).returncode != 0
