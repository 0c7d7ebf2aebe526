"""Actor tokens (`bgt_…`) over real HTTP: they authenticate without X-Bucket-Actor, refuse a different actor
(403 and a ledger entry), survive a rotation only for its grace period, and answer 401 once revoked —
while the integration tokens keep working."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import Engine, select
from tests.api_helpers import headers
from tests.integration import test_api_http as http_tests

from bucket_governance.db.tables import ledger_entries
from bucket_governance.policy import LoadedPolicy
from bucket_governance.tokens import IssuedToken, issue, revoke, rotate

pytestmark = pytest.mark.integration
HOUR_US = 3600 * 1_000_000


def _now_us() -> int:
    return time.time_ns() // 1000


# The same served app as test_api_http.py (SQLite file, generous rates), one instance for this module.
api_engine = http_tests.api_engine
base_url = http_tests.base_url


def _issue(engine: Engine, policy: LoadedPolicy, actor: str, integration: str) -> IssuedToken:
    with engine.begin() as conn:
        return issue(conn, policy, actor, integration, now_us=_now_us())


def _get(base_url: str, path: str, token: str, actor: str | None = None) -> httpx.Response:
    sent = {"Authorization": f"Bearer {token}"} | ({"X-Bucket-Actor": actor} if actor else {})
    return httpx.get(f"{base_url}{path}", headers=sent, timeout=10)


def test_an_actor_token_needs_no_actor_header_and_writes_as_its_actor(
    base_url: str, api_engine: Engine, policy: LoadedPolicy
) -> None:
    issued = _issue(api_engine, policy, "gurukul.engineer", "gurukul.gateway")
    bearer = {"Authorization": f"Bearer {issued.token}"}

    health = _get(base_url, "/health", issued.token)
    same_actor = _get(base_url, "/health", issued.token, "gurukul.engineer")
    created = httpx.post(
        f"{base_url}/artifacts",
        json={"artifact_class": "ContentArtifact", "artifact_id": "token-lesson", "payload_text": "hi"},
        headers=bearer,
        timeout=10,
    )
    read = _get(base_url, "/artifacts/token-lesson", issued.token).json()["artifact"]
    legacy = httpx.get(f"{base_url}/health", headers=headers("gurukul.gateway", "gurukul.owner"), timeout=10)

    assert health.status_code == 200 and health.json()["caller"] == "gurukul.engineer"
    assert same_actor.status_code == 200
    assert created.status_code == 201
    assert read["created_by"] == "gurukul.engineer" and read["integration_id"] == "gurukul.gateway"
    assert legacy.status_code == 200 and legacy.json()["caller"] == "gurukul.owner"


def test_a_different_actor_header_is_403_and_ledgered(base_url: str, api_engine: Engine, policy: LoadedPolicy) -> None:
    issued = _issue(api_engine, policy, "gurukul.engineer", "gurukul.gateway")

    response = _get(base_url, "/health", issued.token, "gurukul.owner")
    body = response.json()
    with api_engine.connect() as conn:
        entry = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == body["seq"])).one()
    details = json.loads(entry.details)

    assert (response.status_code, body["error"]["code"]) == (403, "token_actor_mismatch")
    assert (entry.decision, json.loads(entry.reasons), entry.actor_id) == (
        "DENY",
        ["token_actor_mismatch"],
        "gurukul.engineer",
    )
    assert details["claimed_actor"] == "gurukul.owner" and details["token_id"] == issued.token_id
    assert issued.token.split("_", 2)[2] not in entry.details


def test_rotation_grace_then_expiry_then_revocation(base_url: str, api_engine: Engine, policy: LoadedPolicy) -> None:
    kept = _issue(api_engine, policy, "workflow.engineer", "workflow.gateway")
    lapsed = _issue(api_engine, policy, "workflow.engineer", "workflow.gateway")
    with api_engine.begin() as conn:
        in_grace = rotate(conn, policy, kept.token_id, now_us=_now_us(), grace_us=HOUR_US)
        # Rotated "two hours ago" with a one-minute grace: its grace is over now, without waiting for it.
        rotate(conn, policy, lapsed.token_id, now_us=_now_us() - 2 * HOUR_US, grace_us=60_000_000)
    assert in_grace.replacement is not None
    replacement = in_grace.replacement.token

    during_grace = _get(base_url, "/health", kept.token)
    after_grace = _get(base_url, "/health", lapsed.token)
    with api_engine.begin() as conn:
        revoke(conn, policy, in_grace.replacement.token_id, now_us=_now_us())
    revoked = _get(base_url, "/health", replacement)
    unknown = _get(base_url, "/health", replacement[:-3] + "zzz")

    assert during_grace.status_code == 200
    assert (after_grace.status_code, after_grace.json()["error"]["code"]) == (401, "token_expired")
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (401, "token_revoked")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "token_unknown")
    assert revoked.headers["WWW-Authenticate"] == "Bearer"
    assert set(revoked.json()["error"]) == {"code", "message"}


def test_the_policy_still_decides_what_a_token_holder_may_do(
    base_url: str, api_engine: Engine, policy: LoadedPolicy
) -> None:
    ai = _issue(api_engine, policy, "gurukul.agent", "gurukul.gateway")
    auditor = _issue(api_engine, policy, "auditor.enforcement", "enforcement.gateway")

    ai_read = _get(base_url, "/audit/recent", ai.token)
    auditor_read = _get(base_url, "/audit/recent", auditor.token)
    auditor_outside = _get(base_url, "/audit/recent?product_id=gurukul", auditor.token)

    assert (ai_read.status_code, ai_read.json()["error"]["code"]) == (403, "actor_lane_violation")
    assert auditor_read.status_code == 200
    assert auditor_outside.status_code == 403
