"""The API inside Airflow's API server: `airflow api-server` loads plugins/bucket_governance_plugin.py and
serves the app under its url_prefix — called here over real HTTP, with the app's own authentication."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.api_helpers import free_port, headers
from tests.conftest import PROJECT_ROOT

from bucket_governance.db import make_engine, upgrade_to_head

pytestmark = pytest.mark.integration
PREFIX = "/bucket-governance"
START_TIMEOUT_S = 120


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"airflow api-server exited early:\n{log.read_text()[-4000:]}")
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    raise AssertionError(f"airflow api-server did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def test_plugin_serves_the_api_inside_airflow(airflow_db: Path, tmp_path: Path) -> None:
    bucket_url = f"sqlite:///{tmp_path / 'bucket.db'}"
    engine = make_engine(bucket_url)
    upgrade_to_head(engine)
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "BUCKET_GOV_DB_URL": bucket_url,
    }
    base = f"http://127.0.0.1:{port}{PREFIX}"
    log = tmp_path / "api-server.log"
    airflow = str(Path(sys.executable).parent / "airflow")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_for(f"{base}/openapi.json", process, log)
        anonymous = httpx.get(f"{base}/health", timeout=10)
        health = httpx.get(f"{base}/health", headers=headers("gurukul.gateway", "gurukul.engineer"), timeout=10)
        created = httpx.post(
            f"{base}/artifacts",
            json={"artifact_class": "ContentArtifact", "artifact_id": "in-airflow", "payload_text": "hello"},
            headers=headers("gurukul.gateway", "gurukul.engineer"),
            timeout=10,
        )
        foreign = httpx.get(
            f"{base}/artifacts/in-airflow", headers=headers("workflow.gateway", "workflow.engineer"), timeout=10
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
    assert health.status_code == 200 and health.json()["caller"] == "gurukul.engineer"
    assert created.status_code == 201 and created.json()["version"] == 1
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "cross_product_access")
