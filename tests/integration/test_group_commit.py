"""Group commit: independent CREATEs and READs in one ledger transaction, on SQLite and PostgreSQL, and the
API's committer thread (every request answered with its own outcome or error; the app's shutdown stops it)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from tests.api_helpers import headers, serve
from tests.integration.test_store import LESSON, ledger, versions

from bucket_governance.bucket.create_rows import prepare_create
from bucket_governance.bucket.requests import AccessRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine
from bucket_governance.errors import InvalidInputError
from bucket_governance.ledger.verify import verify_chain
from bucket_governance.policy import LoadedPolicy, Operation
from bucket_governance.settings import Settings
from bucket_governance_api import create_app
from bucket_governance_api.group_commit import GroupCommitter

pytestmark = pytest.mark.integration


def _read(actor: str, integration: str, artifact_id: str) -> AccessRequest:
    return AccessRequest(Operation.READ, actor, integration, "gurukul", artifact_id)


async def _run_lifespan(app: FastAPI) -> None:
    """The app's lifespan, as uvicorn runs it around serving: startup, then shutdown."""
    async with app.router.lifespan_context(app):
        pass


def _chain_ok(engine: Engine) -> bool:
    with engine.connect() as conn:
        return verify_chain(conn).ok


def test_independent_creates_store_the_allowed_and_record_the_denied(store: BucketStore, engine: Engine) -> None:
    good = [replace(LESSON, artifact_id=f"lesson-{i}", payload=f"p{i}".encode()) for i in range(2)]
    bad = replace(LESSON, artifact_id="lesson-x", artifact_class="ExecutionTrace")

    outcomes = store.create_independent([prepare_create(r) for r in (good[0], bad, good[1])])

    assert [(o.allowed, o.decision.code if not o.allowed else o.version) for o in outcomes] == [
        (True, 1),
        (False, "class_not_allowed"),
        (True, 1),
    ]
    assert versions(engine, "lesson-0") == versions(engine, "lesson-1") == [1]
    assert versions(engine, "lesson-x") == []
    entries = ledger(engine)
    assert [(e["seq"], e["decision"]) for e in entries] == [(1, "ALLOW"), (2, "DENY"), (3, "ALLOW")]
    assert json.loads(str(entries[1]["reasons"])) == ["class_not_allowed"]
    assert _chain_ok(engine)


def test_same_artifact_twice_in_a_group_conflicts_as_sequential_requests_would(
    store: BucketStore, engine: Engine
) -> None:
    store.create(LESSON).raise_if_denied()
    twice = [replace(LESSON, payload=f"v{i}".encode(), expected_version=1) for i in (2, 3)]

    first, second = store.create_independent([prepare_create(r) for r in twice])

    assert first.allowed and first.version == 2
    assert not second.allowed and second.decision.code == "version_conflict" and second.version is None
    assert versions(engine, "lesson-1") == [1, 2]
    assert [e["decision"] for e in ledger(engine)] == ["ALLOW", "ALLOW", "DENY"]
    assert _chain_ok(engine)


def test_read_batch_decides_each_read_on_its_own(store: BucketStore, engine: Engine) -> None:
    store.create(LESSON).raise_if_denied()
    reads = [
        _read("gurukul.engineer", "gurukul.gateway", "lesson-1"),
        _read("ai_assistant.engineer", "ai_assistant.gateway", "lesson-1"),
        _read("gurukul.engineer", "gurukul.gateway", "lesson-missing"),
    ]

    (own, found), (foreign, _), (missing, _) = store.read_batch(reads)

    assert own.allowed and found is not None and found.version == 1
    assert "cross_product_access" in [r.code for r in foreign.decision.reasons]
    assert not missing.allowed
    assert [e["decision"] for e in ledger(engine)[1:]] == ["ALLOW", "DENY", "DENY"]


def test_committer_answers_concurrent_requests_each_with_its_own_outcome(store: BucketStore, engine: Engine) -> None:
    committer = GroupCommitter(store)
    writes = [replace(LESSON, artifact_id=f"c-{i}", payload=f"p{i}".encode()) for i in range(20)]
    writes.append(replace(LESSON, artifact_id="c-x", artifact_class="ExecutionTrace"))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(committer.create, writes))
            read = list(pool.map(committer.read, [_read("gurukul.engineer", "gurukul.gateway", "c-3")] * 8))
    finally:
        committer.close()

    assert [o.allowed for o in created] == [True] * 20 + [False]
    assert created[-1].decision.code == "class_not_allowed"
    assert all(o.allowed and found is not None and found.artifact_id == "c-3" for o, found in read)
    assert len(ledger(engine)) == 29
    assert _chain_ok(engine)
    assert committer.create(replace(LESSON, artifact_id="after-close")).allowed  # runs directly once closed
    with pytest.raises(InvalidInputError, match="either a payload or a reference"):
        committer.create(replace(LESSON, reference_url="https://x.test/a"))


def test_a_failing_group_answers_every_request_with_its_error(sqlite_url: str, policy: LoadedPolicy) -> None:
    unmigrated = make_engine(sqlite_url)  # no tables: every transaction fails
    committer = GroupCommitter(BucketStore(unmigrated, policy))
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(committer.create, replace(LESSON, artifact_id=f"f-{i}")) for i in range(6)]
            errors = [f.exception(timeout=60) for f in futures]
    finally:
        committer.close()
        unmigrated.dispose()

    assert all(e is not None and "no such table" in str(e) for e in errors)


def test_api_with_group_commit_gives_the_same_answers_and_stops_on_shutdown(
    engine: Engine, policy: LoadedPolicy
) -> None:
    app = create_app(settings=Settings(api_group_commit="on"), engine=engine, policy=policy)
    body = {"artifact_class": "ContentArtifact", "artifact_id": "g-1", "payload_text": "x"}
    with (
        serve(app) as url,
        httpx.Client(base_url=url, headers=headers("gurukul.gateway", "gurukul.engineer"), timeout=30) as http,
    ):
        created = http.post("/artifacts", json=body)
        stale = http.post("/artifacts/g-1/versions", json={**body, "payload_text": "y", "expected_version": 0})
        invalid = http.post("/artifacts", json={**body, "artifact_id": "g-2", "reference_url": "https://x.test/a"})
        read = http.get("/artifacts/g-1", params={"include_payload": True})
        committer = app.state.bucket_context.committer
        assert committer is not None and committer._thread.is_alive()
    asyncio.run(_run_lifespan(app))  # the shutdown half stops the committer thread

    assert created.status_code == 201 and created.json()["version"] == 1
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "version_conflict")
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (422, "validation_error")
    assert read.status_code == 200 and read.json()["artifact"]["version"] == 1
    assert not committer._thread.is_alive()  # the lifespan's shutdown stopped it
    assert _chain_ok(engine)
