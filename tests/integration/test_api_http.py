"""The HTTP API over real HTTP (uvicorn on 127.0.0.1): authentication, product isolation, every SPEC §4
route, error shapes, rate limits per product, and `bucket-gov serve` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, text
from tests.api_helpers import client, free_port, headers, serve

from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.db.tables import ledger_entries
from bucket_governance.ledger.checkpoint import generate_signing_key, load_signing_key
from bucket_governance.ledger.checkpoint_store import create_checkpoint
from bucket_governance.ledger.proof_bundle import verify_bundle
from bucket_governance.policy import LoadedPolicy
from bucket_governance_api import create_app

pytestmark = pytest.mark.integration
GURUKUL = ("gurukul.gateway", "gurukul.engineer")
WORKFLOW = ("workflow.gateway", "workflow.engineer")


def with_rates(policy: LoadedPolicy, write: float, read: float) -> LoadedPolicy:
    """The same policy with every product's rates replaced (tests of rates, and of everything else)."""
    products = [
        p.model_copy(update={"write_rate_per_second": write, "read_rate_per_second": read})
        for p in policy.policy.products
    ]
    return LoadedPolicy(policy.policy.model_copy(update={"products": products}), policy.sources)


@pytest.fixture(scope="module")
def api_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'bucket.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(api_engine: Engine, policy: LoadedPolicy) -> Iterator[str]:
    with serve(create_app(engine=api_engine, policy=with_rates(policy, 10_000, 10_000))) as url:
        yield url


def _entry(engine: Engine, seq: int) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).one()._mapping)


def _write(url: str, who: tuple[str, str], artifact_id: str, **body: object) -> httpx.Response:
    payload = {"artifact_class": "ContentArtifact", "artifact_id": artifact_id, "payload_text": "x", **body}
    with client(url, *who) as c:
        return c.post("/artifacts", json=payload)


# -- authentication ----------------------------------------------------------------------------------------


def test_missing_and_unknown_tokens_are_401_in_the_error_shape(base_url: str) -> None:
    bare = httpx.get(f"{base_url}/health", timeout=10)
    wrong = httpx.get(
        f"{base_url}/health", headers={"Authorization": "Bearer nope", "X-Bucket-Actor": "x.y"}, timeout=10
    )
    no_actor = httpx.get(
        f"{base_url}/health", headers={"Authorization": "Bearer demo-token-gurukul.gateway"}, timeout=10
    )

    assert (bare.status_code, bare.json()["error"]["code"]) == (401, "unauthenticated")
    assert bare.headers["WWW-Authenticate"] == "Bearer"
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "token_invalid")
    assert (no_actor.status_code, no_actor.json()["error"]["code"]) == (401, "actor_required")


@pytest.mark.parametrize(
    ("integration", "actor", "status", "code"),
    [
        ("gurukul.gateway", "nobody.at-all", 401, "actor_unknown"),
        ("workflow.legacy-sync", "workflow.engineer", 403, "integration_not_approved"),
        ("gurukul.gateway", "workflow.engineer", 403, "cross_product_access"),
        ("gurukul.gateway", "auditor.enforcement", 403, "cross_product_access"),
    ],
)
def test_identity_refusals_are_recorded_in_the_ledger(
    base_url: str, api_engine: Engine, integration: str, actor: str, status: int, code: str
) -> None:
    with client(base_url, integration, actor) as c:
        response = c.get("/audit/recent")

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    entry = _entry(api_engine, response.json()["seq"])
    assert (entry["decision"], entry["actor_id"], entry["integration_id"]) == ("DENY", actor, integration)
    assert code in str(entry["reasons"])


# -- the Bucket: writes, reads, versions -------------------------------------------------------------------


def test_write_read_and_version_list_are_governed_and_recorded(base_url: str, api_engine: Engine) -> None:
    created = _write(base_url, GURUKUL, "api-lesson-1", metadata={"topic": "fractions"})
    with client(base_url, *GURUKUL) as c:
        missing_expectation = c.post("/artifacts/api-lesson-1/versions", json={"artifact_class": "ContentArtifact"})
        second = c.post(
            "/artifacts/api-lesson-1/versions",
            json={"artifact_class": "ContentArtifact", "payload_text": "v2", "expected_version": 1},
        )
        stale = c.post(
            "/artifacts/api-lesson-1/versions",
            json={"artifact_class": "ContentArtifact", "payload_text": "v3", "expected_version": 1},
        )
        latest = c.get("/artifacts/api-lesson-1", params={"include_payload": "true"})
        first = c.get("/artifacts/api-lesson-1/versions/1")
        versions = c.get("/artifacts/api-lesson-1/versions")
        absent = c.get("/artifacts/api-lesson-1/versions/9")

    assert created.status_code == 201 and created.json()["version"] == 1
    assert _entry(api_engine, created.json()["seq"])["operation"] == "CREATE"
    assert (missing_expectation.status_code, missing_expectation.json()["error"]["code"]) == (
        409,
        "expected_version_required",
    )
    assert second.status_code == 201 and second.json()["version"] == 2
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "version_conflict")
    assert _entry(api_engine, stale.json()["seq"])["decision"] == "DENY"
    assert latest.json()["artifact"]["version"] == 2 and latest.json()["artifact"]["payload_text"] == "v2"
    assert _entry(api_engine, latest.json()["seq"])["operation"] == "READ"
    assert first.json()["artifact"]["metadata"] == {"topic": "fractions"}
    assert [v["version"] for v in versions.json()["versions"]] == [1, 2]
    assert (absent.status_code, absent.json()["error"]["code"]) == (404, "version_not_found")


def test_gate_refusals_map_to_http_statuses(base_url: str) -> None:
    wrong_class = _write(base_url, GURUKUL, "api-wrong-class", artifact_class="MediaArtifact")
    too_deep = _write(
        base_url, GURUKUL, "api-deep", metadata={"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}
    )

    assert (wrong_class.status_code, wrong_class.json()["error"]["code"]) == (403, "class_not_allowed")
    assert (too_deep.status_code, too_deep.json()["error"]["code"]) == (422, "metadata_too_deep")


def test_another_products_artifact_is_403_and_a_ledger_entry(base_url: str, api_engine: Engine) -> None:
    _write(base_url, GURUKUL, "api-private")
    with client(base_url, *WORKFLOW) as c:
        read = c.get("/artifacts/api-private")
        trail = c.get("/audit/artifact/api-private")
        check = c.post("/audit/validate-immutability/api-private")
        proof = c.get("/artifacts/api-private/versions/1/proof")
        overwrite = c.post(
            "/artifacts/api-private/versions", json={"artifact_class": "ExecutionTrace", "expected_version": 1}
        )

    for response in (read, trail, check, proof):
        assert (response.status_code, response.json()["error"]["code"]) == (403, "cross_product_access")
        entry = _entry(api_engine, response.json()["seq"])
        assert (entry["decision"], entry["actor_id"]) == ("DENY", "workflow.engineer")
        assert "cross_product_access" in str(entry["reasons"])
    assert (overwrite.status_code, overwrite.json()["error"]["code"]) == (403, "namespace_collision")


# -- audit -------------------------------------------------------------------------------------------------


def test_audit_routes_show_only_the_callers_products(base_url: str) -> None:
    _write(base_url, GURUKUL, "api-audited")
    _write(base_url, WORKFLOW, "api-wf-1", artifact_class="ExecutionTrace")
    with client(base_url, *GURUKUL) as c:
        trail = c.get("/audit/artifact/api-audited").json()
        mine = c.get("/audit/user/gurukul.engineer").json()
        theirs = c.get("/audit/user/workflow.engineer")
        recent = c.get("/audit/recent", params={"limit": 500}).json()
        failed = c.get("/audit/failed", params={"limit": 500}).json()
        other_product = c.get("/audit/recent", params={"product_id": "workflow"})

    assert trail["count"] >= 1 and {e["artifact_id"] for e in trail["entries"]} == {"api-audited"}
    assert {e["actor_id"] for e in mine["entries"]} == {"gurukul.engineer"}
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (403, "cross_product_access")
    assert {e["product_id"] for e in recent["entries"]} == {"gurukul"}
    assert [e["seq"] for e in recent["entries"]] == sorted((e["seq"] for e in recent["entries"]), reverse=True)
    assert failed["count"] >= 1 and {e["decision"] for e in failed["entries"]} == {"DENY"}
    assert other_product.status_code == 403


def test_auditors_read_the_products_in_their_scope_only(base_url: str) -> None:
    _write(
        base_url, ("enforcement.gateway", "enforcement.engineer"), "api-decision-1", artifact_class="DecisionArtifact"
    )
    with client(base_url, "enforcement.gateway", "auditor.enforcement") as narrow:
        own = narrow.get("/audit/recent").json()
        outside = narrow.get("/audit/recent", params={"product_id": "gurukul"})
        artifact = narrow.get("/artifacts/api-decision-1")
        write = narrow.post("/audit/log", json={"note": "auditors cannot write"})
    with client(base_url, "enforcement.gateway", "auditor.global") as wide:
        everything = wide.get("/audit/recent", params={"limit": 1000}).json()

    assert {e["product_id"] for e in own["entries"]} == {"enforcement"}
    assert (outside.status_code, outside.json()["error"]["code"]) == (403, "cross_product_access")
    assert artifact.status_code == 200
    assert (write.status_code, write.json()["error"]["code"]) == (403, "actor_lane_violation")
    assert {"enforcement", "gurukul", "workflow"} <= {e["product_id"] for e in everything["entries"]}


def test_ai_actors_are_write_only(base_url: str, api_engine: Engine) -> None:
    with client(base_url, "gurukul.gateway", "gurukul.agent") as ai:
        write = ai.post("/artifacts", json={"artifact_class": "ContentArtifact", "payload_text": "draft"})
        note = ai.post("/audit/log", json={"note": "generated a draft"})
        reads = [ai.get(path) for path in ("/audit/recent", f"/artifacts/{write.json()['artifact_id']}", "/findings")]

    assert write.status_code == 201 and note.status_code == 201
    for read in reads:
        assert (read.status_code, read.json()["error"]["code"]) == (403, "actor_lane_violation")
        assert _entry(api_engine, read.json()["seq"])["decision"] == "DENY"


def test_audit_log_only_appends(base_url: str, api_engine: Engine) -> None:
    with client(base_url, *GURUKUL) as c:
        appended = c.post("/audit/log", json={"note": "reviewed lesson", "details": {"ticket": 42}})
        floats = c.post("/audit/log", json={"note": "x", "details": {"score": 0.5}})
        put = c.put("/audit/log", json={"note": "x"})
        delete = c.delete("/audit/log")

    entry = _entry(api_engine, appended.json()["seq"])
    assert appended.status_code == 201 and (entry["operation"], entry["decision"]) == ("APPEND_AUDIT", "ALLOW")
    assert entry["entry_hash"] == appended.json()["entry_hash"]
    assert (floats.status_code, floats.json()["error"]["code"]) == (422, "canonical_form")
    assert {put.status_code, delete.status_code} == {405}
    assert put.json()["error"]["code"] == "method_not_allowed"


def test_validate_immutability_finds_an_edited_payload(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'tamper.db'}")
    upgrade_to_head(engine)
    app = create_app(engine=engine, policy=with_rates(policy, 1000, 1000))
    with serve(app) as url:
        _write(url, GURUKUL, "api-tampered")
        with client(url, *GURUKUL) as c:
            clean = c.post("/audit/validate-immutability/api-tampered").json()
            with engine.begin() as conn:  # a privileged attacker: guards dropped, payload edited in place
                for statement in drop_guard_statements("sqlite"):
                    conn.execute(text(statement))
                conn.execute(text("UPDATE payloads SET data = X'79'"))
            tampered = c.post("/audit/validate-immutability/api-tampered").json()
            unknown = c.post("/audit/validate-immutability/never-stored")
    engine.dispose()

    assert clean == {"artifact_id": "api-tampered", "versions_checked": 1, "valid": True, "problems": []}
    assert tampered["valid"] is False and [p["code"] for p in tampered["problems"]] == ["payload_hash_mismatch"]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "artifact_not_found")


# -- governance, scale, findings, proofs, health -------------------------------------------------------------


def test_threat_catalogue_routes(base_url: str) -> None:
    with client(base_url, *GURUKUL) as c:
        catalogue = c.get("/governance/threats").json()
        t6 = c.get("/governance/threats/T6").json()
        pattern = c.get("/governance/threats/pattern/automated_request").json()
        unknown = c.get("/governance/threats/T11")
        no_pattern = c.get("/governance/threats/pattern/nothing_like_this")

    assert [t["threat_id"] for t in catalogue["threats"]] == [f"T{n}" for n in range(1, 11)]
    assert sum(len(t["rules"]) for t in catalogue["threats"]) == 30
    assert t6["name"] == "AI escalation cascade" and {r["threat_id"] for r in t6["rules"]} == {"T6"}
    assert [r["rule_id"] for r in pattern["rules"]] == ["T6.automated_request"]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "threat_unknown")
    assert (no_pattern.status_code, no_pattern.json()["error"]["code"]) == (404, "pattern_unknown")


def test_scan_and_findings_are_scoped_to_the_caller(base_url: str) -> None:
    with client(base_url, *GURUKUL) as c:
        scan = c.post("/governance/threats/scan", json={"threats": ["T2", "T7"]})
        bad_window = c.post("/governance/threats/scan", json={"window_start_us": 10, "window_end_us": 5})
        listed = c.get("/findings").json()["findings"]
    with client(base_url, *WORKFLOW) as other:
        foreign = other.get(f"/findings/{listed[0]['finding_id']}")
        own = other.get("/findings").json()["findings"]

    assert scan.status_code == 200 and scan.json()["rules_evaluated"] >= 1
    assert {f["product_id"] for f in scan.json()["findings"]} == {"gurukul"}
    assert (bad_window.status_code, bad_window.json()["error"]["code"]) == (422, "window_invalid")
    assert listed, "the cross-product attempts against gurukul above leave T7 findings"
    assert {f["product_id"] for f in listed} == {"gurukul"}
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "cross_product_access")
    assert {f["product_id"] for f in own} <= {"workflow"}


def test_scale_routes(base_url: str) -> None:
    with client(base_url, *GURUKUL) as c:
        limits = c.get("/governance/scale/limits").json()
        lists = c.get("/governance/scale/what-scales").json()
        good = c.post(
            "/governance/scale/validate", json={"items": [{"artifact_class": "ContentArtifact", "payload_bytes": 10}]}
        )
        bad = c.post(
            "/governance/scale/validate",
            json={
                "items": [{"artifact_class": "ContentArtifact", "payload_bytes": 17 * 2**20, "metadata_depth": 9}] * 501
            },
        )
        storage = c.get("/governance/scale/proximity/storage").json()
        writes = c.get("/governance/scale/proximity/writes_per_second").json()
        unknown = c.get("/governance/scale/proximity/galaxies")

    assert limits["product_id"] == "gurukul" and limits["limits"]["batch_size"]["max"] == 500
    assert lists["what_scales"] and lists["never_assume"]
    assert good.json()["ok"] is True and good.json()["batch_level"] == "safe"
    verdict = bad.json()
    assert verdict["ok"] is False and verdict["batch_level"] == "over"
    assert {p["code"] for p in verdict["batch_problems"]} == {"batch_too_large"}
    assert {p["code"] for p in verdict["items"][0]["problems"]} == {"payload_too_large", "metadata_too_deep"}
    assert storage["current"] > 0 and storage["status"] == "ok" and storage["product_id"] == "gurukul"
    assert writes["current"] > 0 and writes["limit"] == 10_000
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "limit_unknown")


def test_checkpoint_and_inclusion_proofs_verify_offline(base_url: str, api_engine: Engine, tmp_path: Path) -> None:
    created = _write(base_url, GURUKUL, "api-proved").json()
    verifier = generate_signing_key(tmp_path / "key.pem", "bucket-test")
    create_checkpoint(api_engine, load_signing_key(tmp_path / "key.pem"), "bucket-test")
    with client(base_url, *GURUKUL) as c:
        latest = c.get("/ledger/checkpoints/latest").json()
        by_artifact = c.get("/artifacts/api-proved/versions/1/proof").json()["proof"]
        by_seq = c.get(f"/ledger/entries/{created['seq']}/proof").json()["proof"]
        beyond = c.get("/ledger/entries/999999/proof")

    assert latest["tree_size"] >= created["seq"]
    assert verify_bundle(by_artifact, [verifier]).ok and verify_bundle(by_seq, [verifier]).ok
    assert by_artifact["artifact"] == {"artifact_id": "api-proved", "version": 1}
    assert (beyond.status_code, beyond.json()["error"]["code"]) == (404, "entry_not_found")


def test_health_and_error_shapes(base_url: str, api_engine: Engine, policy: LoadedPolicy) -> None:
    with client(base_url, "gurukul.gateway", "gurukul.agent") as ai:
        health = ai.get("/health").json()
    with client(base_url, *GURUKUL) as c:
        invalid = c.post("/artifacts", json={"artifact_class": 5, "surprise": True})
        not_found = c.get("/no/such/route")

    assert health["status"] == "ok" and health["caller"] == "gurukul.agent" and health["ledger_head_seq"] >= 1
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (422, "validation_error")
    assert (not_found.status_code, not_found.json()["error"]["code"]) == (404, "not_found")


def test_unexpected_errors_are_500_without_a_traceback(tmp_path: Path, policy: LoadedPolicy) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(engine=unmigrated, policy=policy)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/test-explode", explode)
    with serve(app) as url, client(url, *GURUKUL) as c:
        boom = c.get("/test-explode")
        no_db = c.get("/health")
    unmigrated.dispose()

    assert boom.status_code == 500 and boom.json() == {
        "error": {"code": "internal_error", "message": boom.json()["error"]["message"]}
    }
    assert "secret" not in boom.text and "Traceback" not in boom.text
    assert (no_db.status_code, no_db.json()["error"]["code"]) == (503, "database_unavailable")


# -- rate limits ---------------------------------------------------------------------------------------------


def test_a_product_over_its_rate_gets_429_and_others_do_not(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rates.db'}")
    upgrade_to_head(engine)
    app = create_app(engine=engine, policy=with_rates(policy, write=2, read=2))
    with serve(app) as url, client(url, *GURUKUL) as gurukul, client(url, *WORKFLOW) as workflow:
        statuses = []
        for _ in range(50):  # bounded: the bucket holds 2 tokens and refills 2 per second
            statuses.append(gurukul.post("/audit/log", json={"note": "burst"}))
            if statuses[-1].status_code == 429:
                break
        other_write = workflow.post("/audit/log", json={"note": "unaffected"})
        own_read = gurukul.get("/health")
    engine.dispose()

    limited = statuses[-1]
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert other_write.status_code == 201
    assert own_read.status_code == 200


# -- the standalone server ---------------------------------------------------------------------------------


def test_bucket_gov_serve_answers_over_http(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    port = free_port()
    command = [str(Path(sys.executable).parent / "bucket-gov"), "--db", url, "serve", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        response = _poll(f"http://127.0.0.1:{port}/health", headers("gurukul.gateway", "gurukul.owner"), process, log)
        created = httpx.post(
            f"http://127.0.0.1:{port}/artifacts",
            json={"artifact_class": "ContentArtifact", "payload_text": "served"},
            headers=headers("gurukul.gateway", "gurukul.owner"),
            timeout=10,
        )
    finally:
        process.terminate()
        process.wait(timeout=15)

    assert response.status_code == 200 and response.json()["database"] == "sqlite"
    assert created.status_code == 201


def _poll(
    url: str, request_headers: dict[str, str], process: subprocess.Popen[bytes], log: Path, timeout_s: float = 30
) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()}")
        try:
            return httpx.get(url, headers=request_headers, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


# -- PostgreSQL ----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_api_on_postgresql(pg_url: str, policy: LoadedPolicy) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    with serve(create_app(engine=engine, policy=with_rates(policy, 1000, 1000))) as url:
        created = _write(url, GURUKUL, "pg-lesson")
        with client(url, *GURUKUL) as c:
            read = c.get("/artifacts/pg-lesson")
            check = c.post("/audit/validate-immutability/pg-lesson").json()
        with client(url, *WORKFLOW) as other:
            foreign = other.get("/audit/artifact/pg-lesson")
    engine.dispose()

    assert created.status_code == 201 and read.status_code == 200 and check["valid"] is True
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "cross_product_access")
