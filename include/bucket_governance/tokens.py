"""API bearer tokens per actor and integration: issued once in plaintext, kept hashed, rotatable, revocable.

A token reads ``bgt_<token id>_<secret>``. Only the token id and the SHA-256 of the secret are stored
(``db/tables_tokens.py``); the plaintext is returned by :func:`issue` / :func:`rotate` and never again.
Issue, rotation and revocation are each a ``GOVERNANCE_ACTION`` ledger entry naming the token id — never
the secret nor its hash. The API authenticates with :func:`authenticate`: one primary-key lookup and a
constant-time comparison. The policy stays the authority on who may act: a token only says which actor
and integration it was issued to; the API re-checks both against the policy in force at every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables_tokens import api_tokens
from bucket_governance.errors import EXIT_DENIED_OR_FOUND, GovernanceError, InvalidInputError, NotFoundError
from bucket_governance.ledger.governance import append_governance_action, governance_draft
from bucket_governance.policy import ActorKind, LoadedPolicy
from bucket_governance.policy.models import Actor, Integration

PREFIX = "bgt_"
DAY_US = 86_400 * 1_000_000
DEFAULT_LIFETIME_US = 90 * DAY_US
T = api_tokens.c
_TOKEN = re.compile(r"^bgt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
# Compared against when the token id is unknown, so a miss costs the same comparison as a hit.
_NO_DIGEST = "0" * 64


class TokenRejected(GovernanceError):
    """A presented token cannot be used: ``token_unknown``, ``token_revoked`` or ``token_expired``."""

    exit_code = EXIT_DENIED_OR_FOUND


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token speaks for."""

    token_id: str
    actor_id: str
    integration_id: str
    expires_at_us: int


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    token: str  # the plaintext: shown once, never stored
    actor_id: str
    integration_id: str
    product_id: str
    created_at_us: int
    expires_at_us: int
    seq: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TokenChange:
    """What rotate or revoke did to an existing token (``replacement`` only for a rotation)."""

    action: str
    token_id: str
    expires_at_us: int
    revoked_at_us: int | None
    seq: int
    replacement: IssuedToken | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def looks_like_token(text: str) -> bool:
    """True for the ``bgt_`` tokens of this module (other bearer tokens are integration tokens)."""
    return text.startswith(PREFIX)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_eligible(policy: LoadedPolicy, actor_id: str, integration_id: str) -> tuple[Actor, Integration]:
    """The actor and integration, if a token may join them; else a clear InvalidInputError."""
    actor = policy.actors.get(actor_id)
    if actor is None:
        raise InvalidInputError(
            "actor_unknown", f"actor {actor_id!r} is not in the policy; see `bucket-gov policy show`"
        )
    integration = policy.integrations.get(integration_id)
    if integration is None:
        raise InvalidInputError("integration_unknown", f"integration {integration_id!r} is not in the policy")
    if integration.revoked or not integration.approved:
        raise InvalidInputError(
            "integration_not_usable", f"integration {integration_id!r} is revoked or not approved: no tokens for it"
        )
    if actor.kind is ActorKind.AUDITOR:
        in_product = integration.product in actor.scope
    else:
        in_product = actor.product == integration.product
    if not in_product:
        raise InvalidInputError(
            "actor_not_in_product",
            f"actor {actor_id!r} does not belong to product {integration.product!r} of integration "
            f"{integration_id!r} (auditors: it is not in their scope); pick an integration of the actor's product",
        )
    return actor, integration


def _ledger(conn: Connection, policy: LoadedPolicy, action: str, row: dict[str, Any], at_us: int, **extra: Any) -> int:
    draft = governance_draft(
        action,
        actor_id=row["actor_id"],
        product_id=row["product_id"],
        policy_fingerprint=policy.fingerprint,
        details={"token_id": row["token_id"], "integration_id": row["integration_id"], **extra},
    )
    return append_governance_action(conn, draft, at_us).seq


def _new_token(
    conn: Connection, policy: LoadedPolicy, row: dict[str, Any], now_us: int, action: str, **extra: Any
) -> IssuedToken:
    """Write the ledger entry, then the row; the plaintext leaves this function only in the result."""
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = {**row, "token_id": token_id, "created_at_us": now_us}
    seq = _ledger(conn, policy, action, row, now_us, expires_at_us=row["expires_at_us"], **extra)
    conn.execute(insert(api_tokens).values(**row, secret_sha256=_digest(secret), issued_seq=seq))
    return IssuedToken(
        token_id=token_id,
        token=f"{PREFIX}{token_id}_{secret}",
        actor_id=row["actor_id"],
        integration_id=row["integration_id"],
        product_id=row["product_id"],
        created_at_us=now_us,
        expires_at_us=row["expires_at_us"],
        seq=seq,
    )


def issue(
    conn: Connection,
    policy: LoadedPolicy,
    actor_id: str,
    integration_id: str,
    *,
    now_us: int,
    expires_in_us: int = DEFAULT_LIFETIME_US,
) -> IssuedToken:
    """A new token for an actor of the integration's product; run inside the caller's transaction."""
    if expires_in_us <= 0:
        raise InvalidInputError("expiry_invalid", "a token must expire in the future: give a positive lifetime")
    _, integration = check_eligible(policy, actor_id, integration_id)
    lock_ledger(conn)
    row = {
        "actor_id": actor_id,
        "integration_id": integration_id,
        "product_id": integration.product,
        "expires_at_us": now_us + expires_in_us,
    }
    return _new_token(conn, policy, row, now_us, "issue_api_token")


def _open_row(conn: Connection, token_id: str, verb: str) -> dict[str, Any]:
    row = conn.execute(select(api_tokens).where(T.token_id == token_id)).first()
    if row is None:
        raise NotFoundError("token_not_found", f"no token {token_id!r}; `bucket-gov token list` shows the token ids")
    found = dict(row._mapping)
    if found["revoked_at_us"] is not None:
        raise InvalidInputError("token_revoked", f"token {token_id!r} is revoked: it cannot be {verb}d")
    if found["replaced_by"] is not None and verb == "rotate":
        raise InvalidInputError(
            "token_already_rotated", f"token {token_id!r} was already rotated to {found['replaced_by']!r}"
        )
    return found


def rotate(conn: Connection, policy: LoadedPolicy, token_id: str, *, now_us: int, grace_us: int = 0) -> TokenChange:
    """A replacement token for the same actor and integration; the old one ends after ``grace_us``."""
    if grace_us < 0:
        raise InvalidInputError("grace_invalid", "the grace period cannot be negative")
    lock_ledger(conn)
    old = _open_row(conn, token_id, "rotate")
    check_eligible(policy, old["actor_id"], old["integration_id"])
    lifetime = max(old["expires_at_us"] - old["created_at_us"], 1)
    row = {k: old[k] for k in ("actor_id", "integration_id", "product_id")} | {"expires_at_us": now_us + lifetime}
    old_ends = min(old["expires_at_us"], now_us + grace_us)
    new = _new_token(conn, policy, row, now_us, "rotate_api_token", replaces=token_id, old_expires_at_us=old_ends)
    conn.execute(
        update(api_tokens).where(T.token_id == token_id).values(expires_at_us=old_ends, replaced_by=new.token_id)
    )
    return TokenChange("rotate_api_token", token_id, old_ends, None, new.seq, new)


def revoke(conn: Connection, policy: LoadedPolicy, token_id: str, *, now_us: int) -> TokenChange:
    """The token stops working now (every later request with it answers ``token_revoked``)."""
    lock_ledger(conn)
    old = _open_row(conn, token_id, "revoke")
    seq = _ledger(conn, policy, "revoke_api_token", old, now_us)
    conn.execute(update(api_tokens).where(T.token_id == token_id).values(revoked_at_us=now_us, revoked_seq=seq))
    return TokenChange("revoke_api_token", token_id, old["expires_at_us"], now_us, seq)


def list_tokens(conn: Connection, *, actor_id: str | None = None) -> list[dict[str, Any]]:
    """Tokens, newest first — ids, owners and times only, never a secret nor its hash."""
    columns = [c for c in api_tokens.c if c.name != "secret_sha256"]
    query = select(*columns).order_by(T.created_at_us.desc(), T.token_id)
    if actor_id is not None:
        query = query.where(T.actor_id == actor_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def authenticate(conn: Connection, token: str, *, now_us: int) -> TokenIdentity:
    """The identity of a presented token, or TokenRejected (unknown, revoked, expired)."""
    unknown = TokenRejected("token_unknown", "the bearer token matches no issued token; ask for a new one")
    match = _TOKEN.match(token)
    if match is None:
        raise unknown
    token_id, secret = match.groups()
    query = select(T.secret_sha256, T.actor_id, T.integration_id, T.expires_at_us, T.revoked_at_us)
    row = conn.execute(query.where(T.token_id == token_id)).first()
    matches = hmac.compare_digest(row.secret_sha256 if row is not None else _NO_DIGEST, _digest(secret))
    if row is None or not matches:
        raise unknown
    if row.revoked_at_us is not None and row.revoked_at_us <= now_us:
        raise TokenRejected("token_revoked", f"token {token_id} was revoked; ask for a new one")
    if now_us >= row.expires_at_us:
        raise TokenRejected("token_expired", f"token {token_id} has expired; rotate it or ask for a new one")
    return TokenIdentity(token_id, row.actor_id, row.integration_id, row.expires_at_us)


def record_refusal(
    conn: Connection,
    policy: LoadedPolicy,
    identity: TokenIdentity,
    refusal: str,
    *,
    now_us: int,
    details: dict[str, Any],
) -> int:
    """A DENY ledger entry for a refused use of a valid token (e.g. an X-Bucket-Actor naming someone else)."""
    integration = policy.integrations.get(identity.integration_id)
    draft = governance_draft(
        "api_token_refused",
        actor_id=identity.actor_id,
        product_id=integration.product if integration is not None else None,
        policy_fingerprint=policy.fingerprint,
        details={"token_id": identity.token_id, "integration_id": identity.integration_id, **details},
        refusal=refusal,
    )
    lock_ledger(conn)
    return append_governance_action(conn, draft, now_us).seq
