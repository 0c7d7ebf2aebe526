"""The API inside Airflow's API server: `airflow api-server` loads plugins/bucket_governance_plugin.py and
serves the app under its url_prefix — called here over real HTTP, with the app's own authentication.

One server for the module: a smoke test of authentication and isolation, and a table that calls every
route of ``app.openapi()`` through the plugin mount (a test fails when a route is added without a row).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api_helpers import free_port, headers
from tests.conftest import PROJECT_ROOT

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.ledger.checkpoint import generate_signing_key, load_signing_key
from bucket_governance.ledger.checkpoint_store import create_checkpoint
from bucket_governance.policy import LoadedPolicy
from bucket_governance.tokens import issue
from bucket_governance_api import create_app

pytestmark = pytest.mark.integration
PREFIX = "/bucket-governance"
START_TIMEOUT_S = 120
GURUKUL = ("gurukul.gateway", "gurukul.engineer")


@dataclass(frozen=True)
class Served:
    base: str
    seeded_seq: int  # the ledger entry of artifact "seeded" v1, covered by a signed checkpoint
    actor_token: str  # a `bgt_` token of gurukul.engineer


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


def _seed(bucket_url: str, policy: LoadedPolicy, keys: Path) -> tuple[int, str]:
    """An artifact under a signed checkpoint (so proofs exist) and an actor token, before the server starts."""
    engine = make_engine(bucket_url)
    upgrade_to_head(engine)
    created = BucketStore(engine, policy).create(
        CreateRequest(
            actor_id="gurukul.engineer",
            integration_id="gurukul.gateway",
            product_id="gurukul",
            artifact_class="ContentArtifact",
            artifact_id="seeded",
            payload=b"seeded",
        )
    )
    generate_signing_key(keys / "key.pem", "bucket-test")
    create_checkpoint(engine, load_signing_key(keys / "key.pem"), "bucket-test")
    with engine.begin() as conn:
        token = issue(conn, policy, "gurukul.engineer", "gurukul.gateway", now_us=time.time_ns() // 1000).token
    engine.dispose()
    return created.seq, token


@pytest.fixture(scope="module")
def served(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[Served]:
    tmp_path = tmp_path_factory.mktemp("api-airflow")
    bucket_url = f"sqlite:///{tmp_path / 'bucket.db'}"
    seq, token = _seed(bucket_url, policy, tmp_path)
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
        yield Served(base, seq, token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_plugin_serves_the_api_inside_airflow(served: Served) -> None:
    base = served.base
    anonymous = httpx.get(f"{base}/health", timeout=10)
    health = httpx.get(f"{base}/health", headers=headers(*GURUKUL), timeout=10)
    created = httpx.post(
        f"{base}/artifacts",
        json={"artifact_class": "ContentArtifact", "artifact_id": "in-airflow", "payload_text": "hello"},
        headers=headers(*GURUKUL),
        timeout=10,
    )
    foreign = httpx.get(
        f"{base}/artifacts/in-airflow", headers=headers("workflow.gateway", "workflow.engineer"), timeout=10
    )
    by_actor_token = httpx.get(f"{base}/health", headers={"Authorization": f"Bearer {served.actor_token}"}, timeout=10)

    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
    assert health.status_code == 200 and health.json()["caller"] == "gurukul.engineer"
    assert created.status_code == 201 and created.json()["version"] == 1
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "cross_product_access")
    assert by_actor_token.status_code == 200 and by_actor_token.json()["caller"] == "gurukul.engineer"


CONTENT = {"artifact_class": "ContentArtifact"}
# (method, path template as in the OpenAPI document, concrete path, JSON body, expected status). Paths
# may use {seq}: the seeded artifact's ledger entry. Rows run in order: the first creates "route-a".
ROUTES: list[tuple[str, str, str, dict[str, Any] | None, int]] = [
    ("POST", "/artifacts", "/artifacts", {**CONTENT, "artifact_id": "route-a", "payload_text": "v1"}, 201),
    ("POST", "/artifacts/{artifact_id}/versions", "/artifacts/route-a/versions",
     {**CONTENT, "payload_text": "v2", "expected_version": 1}, 201),
    ("GET", "/artifacts/{artifact_id}/versions", "/artifacts/route-a/versions", None, 200),
    ("GET", "/artifacts/{artifact_id}", "/artifacts/route-a", None, 200),
    ("GET", "/artifacts/{artifact_id}/versions/{version}", "/artifacts/route-a/versions/2", None, 200),
    ("GET", "/ledger/checkpoints/latest", "/ledger/checkpoints/latest", None, 200),
    ("GET", "/ledger/entries/{seq}/proof", "/ledger/entries/{seq}/proof", None, 200),
    ("GET", "/artifacts/{artifact_id}/versions/{version}/proof", "/artifacts/seeded/versions/1/proof", None, 200),
    ("GET", "/audit/artifact/{artifact_id}", "/audit/artifact/route-a", None, 200),
    ("GET", "/audit/user/{requester_id}", "/audit/user/gurukul.engineer", None, 200),
    ("GET", "/audit/recent", "/audit/recent", None, 200),
    ("GET", "/audit/failed", "/audit/failed", None, 200),
    ("POST", "/audit/validate-immutability/{artifact_id}", "/audit/validate-immutability/route-a", None, 200),
    ("POST", "/audit/log", "/audit/log", {"note": "called through the Airflow plugin"}, 201),
    ("GET", "/governance/threats", "/governance/threats", None, 200),
    ("GET", "/governance/threats/pattern/{pattern}", "/governance/threats/pattern/automated_request", None, 200),
    ("GET", "/governance/threats/{threat_id}", "/governance/threats/T6", None, 200),
    ("POST", "/governance/threats/scan", "/governance/threats/scan", {"threats": ["T2", "T7"]}, 200),
    ("GET", "/governance/scale/limits", "/governance/scale/limits", None, 200),
    ("GET", "/governance/scale/what-scales", "/governance/scale/what-scales", None, 200),
    ("POST", "/governance/scale/validate", "/governance/scale/validate",
     {"items": [{**CONTENT, "payload_bytes": 10}]}, 200),
    ("GET", "/governance/scale/proximity/{limit_name}", "/governance/scale/proximity/storage", None, 200),
    ("GET", "/findings", "/findings", None, 200),
    ("GET", "/findings/{finding_id}", "/findings/no-such-finding", None, 404),
    ("GET", "/incidents", "/incidents", None, 200),
    ("GET", "/incidents/{incident_id}", "/incidents/no-such-incident", None, 404),
    ("GET", "/health", "/health", None, 200),
]  # fmt: skip


def test_the_route_table_covers_every_route_of_the_app() -> None:
    documented = {
        (method.upper(), path)
        for path, operations in create_app(engine=make_engine("sqlite://")).openapi()["paths"].items()
        for method in operations
    }

    assert {(method, template) for method, template, *_ in ROUTES} == documented


def test_every_route_answers_through_the_plugin_mount(served: Served) -> None:
    answers = []
    with httpx.Client(base_url=served.base, headers=headers(*GURUKUL), timeout=30) as c:
        for method, template, path, body, expected in ROUTES:
            response = c.request(method, path.format(seq=served.seeded_seq), json=body)
            answers.append((method, template, response.status_code, expected, response.text[:200]))

    server_errors = [a for a in answers if a[2] >= 500]
    unexpected = [a for a in answers if a[2] != a[3]]
    assert server_errors == [] and unexpected == []
    assert all(a[2] < 300 or a[4].startswith('{"error":') for a in answers)
