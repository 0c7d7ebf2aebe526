"""API tokens per actor (library and CLI): hashed at rest, rotatable with a grace period, revocable, each
change a ledger entry — on SQLite and PostgreSQL, with a clock the test controls."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from bucket_governance.cli.main import cli
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import ledger_entries
from bucket_governance.db.tables_tokens import api_tokens
from bucket_governance.errors import InvalidInputError, NotFoundError
from bucket_governance.policy import LoadedPolicy
from bucket_governance.tokens import (
    DAY_US,
    DEFAULT_LIFETIME_US,
    IssuedToken,
    TokenRejected,
    authenticate,
    issue,
    list_tokens,
    revoke,
    rotate,
)

pytestmark = pytest.mark.integration
T0 = 1_800_000_000_000_000  # a fixed "now" in microseconds
MINUTE = 60 * 1_000_000


def _issue(
    engine: Engine,
    policy: LoadedPolicy,
    actor: str = "gurukul.engineer",
    integration: str = "gurukul.gateway",
    lifetime_us: int = DEFAULT_LIFETIME_US,
) -> IssuedToken:
    with engine.begin() as conn:
        return issue(conn, policy, actor, integration, now_us=T0, expires_in_us=lifetime_us)


def _rejection(engine: Engine, token: str, at_us: int) -> str | None:
    with engine.connect() as conn:
        try:
            authenticate(conn, token, now_us=at_us)
        except TokenRejected as exc:
            return exc.code
    return None


def _ledger_details(engine: Engine, seq: int) -> tuple[str, dict[str, object]]:
    with engine.connect() as conn:
        row = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).one()
    return row.operation, json.loads(row.details)


def test_issue_keeps_only_a_hash_and_ledgers_the_token_id(engine: Engine, policy: LoadedPolicy) -> None:
    issued = _issue(engine, policy)
    secret = issued.token.split("_", 2)[2]

    with engine.connect() as conn:
        row = dict(conn.execute(select(api_tokens).where(api_tokens.c.token_id == issued.token_id)).one()._mapping)
        identity = authenticate(conn, issued.token, now_us=T0 + 1)
    operation, details = _ledger_details(engine, issued.seq)

    assert issued.token.startswith(f"bgt_{issued.token_id}_") and len(secret) == 43
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in row.values())
    assert (row["actor_id"], row["product_id"], row["expires_at_us"]) == (
        "gurukul.engineer",
        "gurukul",
        T0 + 90 * DAY_US,
    )
    assert (identity.actor_id, identity.integration_id) == ("gurukul.engineer", "gurukul.gateway")
    assert operation == "GOVERNANCE_ACTION" and details["action"] == "issue_api_token"
    assert details["token_id"] == issued.token_id
    assert secret not in json.dumps(details) and row["secret_sha256"][:16] not in json.dumps(details)


def test_a_token_expires_at_its_time_and_a_wrong_secret_is_unknown(engine: Engine, policy: LoadedPolicy) -> None:
    issued = _issue(engine, policy, lifetime_us=10 * MINUTE)
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")

    assert _rejection(engine, issued.token, T0 + 10 * MINUTE - 1) is None
    assert _rejection(engine, issued.token, T0 + 10 * MINUTE) == "token_expired"
    assert _rejection(engine, forged, T0 + 1) == "token_unknown"
    assert _rejection(engine, "bgt_0123456789abcdef_" + "x" * 43, T0) == "token_unknown"
    assert _rejection(engine, "bgt_not-a-token", T0) == "token_unknown"


def test_rotation_keeps_the_old_token_for_the_grace_period_only(engine: Engine, policy: LoadedPolicy) -> None:
    old = _issue(engine, policy, lifetime_us=30 * DAY_US)
    with engine.begin() as conn:
        change = rotate(conn, policy, old.token_id, now_us=T0 + MINUTE, grace_us=5 * MINUTE)
    new = change.replacement
    assert new is not None

    assert _rejection(engine, old.token, T0 + 6 * MINUTE - 1) is None
    assert _rejection(engine, old.token, T0 + 6 * MINUTE) == "token_expired"
    assert _rejection(engine, new.token, T0 + 6 * MINUTE) is None
    assert (new.actor_id, new.integration_id, new.expires_at_us) == (
        old.actor_id,
        old.integration_id,
        T0 + MINUTE + 30 * DAY_US,
    )
    details = _ledger_details(engine, change.seq)[1]
    assert (details["action"], details["replaces"], details["token_id"]) == (
        "rotate_api_token",
        old.token_id,
        new.token_id,
    )
    with engine.begin() as conn, pytest.raises(InvalidInputError) as twice:
        rotate(conn, policy, old.token_id, now_us=T0 + 2 * MINUTE)
    assert twice.value.code == "token_already_rotated"


def test_zero_grace_ends_the_old_token_at_once(engine: Engine, policy: LoadedPolicy) -> None:
    old = _issue(engine, policy)
    with engine.begin() as conn:
        rotate(conn, policy, old.token_id, now_us=T0 + MINUTE)

    assert _rejection(engine, old.token, T0 + MINUTE) == "token_expired"


def test_revoked_tokens_are_refused_and_cannot_be_revived(engine: Engine, policy: LoadedPolicy) -> None:
    issued = _issue(engine, policy)
    with engine.begin() as conn:
        change = revoke(conn, policy, issued.token_id, now_us=T0 + MINUTE)

    assert _rejection(engine, issued.token, T0 + MINUTE - 1) is None
    assert _rejection(engine, issued.token, T0 + MINUTE) == "token_revoked"
    assert _ledger_details(engine, change.seq)[1]["action"] == "revoke_api_token"
    for again in (revoke, rotate):
        with engine.begin() as conn, pytest.raises(InvalidInputError) as refused:
            again(conn, policy, issued.token_id, now_us=T0 + 2 * MINUTE)
        assert refused.value.code == "token_revoked"
    with engine.begin() as conn, pytest.raises(NotFoundError):
        revoke(conn, policy, "0000000000000000", now_us=T0)


@pytest.mark.parametrize(
    ("actor", "integration", "code"),
    [
        ("nobody.at.all", "gurukul.gateway", "actor_unknown"),
        ("gurukul.engineer", "no.such.gateway", "integration_unknown"),
        ("workflow.engineer", "gurukul.gateway", "actor_not_in_product"),
        ("auditor.enforcement", "gurukul.gateway", "actor_not_in_product"),
        ("ai_avatar.engineer", "ai_avatar.old-uploader", "integration_not_usable"),
        ("workflow.engineer", "workflow.legacy-sync", "integration_not_usable"),
    ],
)
def test_tokens_only_join_an_actor_to_an_integration_of_its_product(
    sqlite_url: str, policy: LoadedPolicy, actor: str, integration: str, code: str
) -> None:
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    with engine.begin() as conn, pytest.raises(InvalidInputError) as refused:
        issue(conn, policy, actor, integration, now_us=T0)
    with engine.connect() as conn:
        assert list_tokens(conn) == []
    engine.dispose()
    assert refused.value.code == code


def test_auditors_get_tokens_for_integrations_in_their_scope(engine: Engine, policy: LoadedPolicy) -> None:
    issued = _issue(engine, policy, "auditor.enforcement", "enforcement.gateway")
    with engine.connect() as conn:
        listed = list_tokens(conn, actor_id="auditor.enforcement")

    assert [t["token_id"] for t in listed] == [issued.token_id]
    assert "secret_sha256" not in listed[0]


# -- the CLI ---------------------------------------------------------------------------------------------------


@pytest.fixture
def invoke(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'bucket.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    runner = CliRunner()

    def _invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--db", url, "--json", "token", *args])

    return _invoke


def test_cli_issues_lists_rotates_and_revokes(invoke) -> None:  # type: ignore[no-untyped-def]
    issued = invoke("issue", "--actor", "gurukul.engineer", "--integration", "gurukul.gateway", "--expires-days", "7")
    doc = json.loads(issued.output)
    rotated = invoke("rotate", doc["token_id"], "--grace-minutes", "10")
    new = json.loads(rotated.output)["replacement"]
    listed = json.loads(invoke("list", "--actor", "gurukul.engineer").output)["tokens"]
    revoked = invoke("revoke", new["token_id"])
    after = {t["token_id"]: t["state"] for t in json.loads(invoke("list").output)["tokens"]}

    assert issued.exit_code == 0 and doc["token"].startswith(f"bgt_{doc['token_id']}_")
    assert doc["expires_at_us"] - doc["created_at_us"] == 7 * DAY_US
    assert rotated.exit_code == 0 and new["token"] != doc["token"]
    assert {t["token_id"]: t["state"] for t in listed} == {doc["token_id"]: "rotating", new["token_id"]: "active"}
    assert all(doc["token"] not in json.dumps(t) and "secret_sha256" not in t for t in listed)
    assert revoked.exit_code == 0 and after[new["token_id"]] == "revoked"


def test_cli_refuses_an_actor_of_another_product(invoke) -> None:  # type: ignore[no-untyped-def]
    refused = invoke("issue", "--actor", "workflow.engineer", "--integration", "gurukul.gateway")
    unknown = invoke("revoke", "ffffffffffffffff")

    assert isinstance(refused.exception, InvalidInputError) and refused.exception.code == "actor_not_in_product"
    assert refused.exception.exit_code == 2
    assert isinstance(unknown.exception, NotFoundError) and unknown.exception.exit_code == 1
