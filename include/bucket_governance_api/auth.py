"""Authentication and isolation: bearer token → integration, ``X-Bucket-Actor`` → actor, product scope.

Airflow does not authenticate plugin routes, so every route of this API depends on :class:`Access`.
Two kinds of bearer token: an integration token (only its SHA-256 is in the policy) with the actor named by
``X-Bucket-Actor``; or a ``bgt_…`` token issued to one actor and integration (``bucket-gov token``, kept
hashed in the database, rotatable): the header is then optional and, when sent, must name the token's actor
(else 403 ``token_actor_mismatch``, recorded in the ledger). Expired, revoked or unknown ``bgt_`` tokens answer
401 ``token_expired`` / ``token_revoked`` / ``token_unknown``. The actor must belong to the
integration's product (an auditor: have it in scope). Identity problems after a valid token — unknown
actor, revoked or unapproved integration, an actor of another product, an AI reading, an auditor
writing — are decided by the gate and recorded in the ledger like any denied request.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from bucket_governance.bucket.requests import AccessRequest
from bucket_governance.policy import ActorKind, Operation
from bucket_governance.policy.models import Actor, Integration
from bucket_governance.tokens import TokenIdentity, TokenRejected, authenticate, looks_like_token, record_refusal
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.errors import ApiError

_bearer = HTTPBearer(
    auto_error=False,
    description="a `bgt_…` actor token (`bucket-gov token issue`) or an integration token "
    "(`demo-token-<integration id>` in the demo policy)",
)
_actor_header = APIKeyHeader(
    name="X-Bucket-Actor", auto_error=False, description="the actor id acting (optional with a `bgt_` token)"
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_ACTOR_ID = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
AccessKind = Literal["read", "write", "any"]


@dataclass(frozen=True)
class Caller:
    actor: Actor
    integration: Integration

    @property
    def product_id(self) -> str:
        """The product the caller writes to (its integration's)."""
        return self.integration.product

    @property
    def readable_products(self) -> frozenset[str]:
        """Auditors read the audit data of every product in their scope; others their own product only."""
        if self.actor.kind is ActorKind.AUDITOR:
            return frozenset(self.actor.scope)
        return frozenset({self.integration.product})


@dataclass(frozen=True)
class _Identity:
    actor_id: str
    actor: Actor | None
    integration: Integration


def _identify(
    request: Request,
    ctx: Annotated[ApiContext, Depends(get_context)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    actor_id: Annotated[str | None, Security(_actor_header)],
) -> _Identity:
    if bearer is None or not bearer.credentials:
        raise ApiError(401, "unauthenticated", "send 'Authorization: Bearer <token>'", headers=_CHALLENGE)
    if looks_like_token(bearer.credentials):
        return _identify_actor_token(request, ctx, bearer.credentials, actor_id)
    integration = ctx.integration_for_token(bearer.credentials)
    if integration is None:
        raise ApiError(401, "token_invalid", "the bearer token matches no registered integration", headers=_CHALLENGE)
    if not actor_id or not _ACTOR_ID.match(actor_id):
        raise ApiError(401, "actor_required", "send 'X-Bucket-Actor: <actor id>' naming a policy actor")
    return _Identity(actor_id, ctx.policy.actors.get(actor_id), integration)


def _identify_actor_token(request: Request, ctx: ApiContext, credentials: str, claimed: str | None) -> _Identity:
    """A ``bgt_`` token: one primary-key lookup; the policy in force still decides what the actor may do."""
    now_us = time.time_ns() // 1000
    try:
        with ctx.engine.connect() as conn:
            token = authenticate(conn, credentials, now_us=now_us)
    except TokenRejected as exc:
        raise ApiError(401, exc.code, exc.message, headers=_CHALLENGE) from None
    integration = ctx.policy.integrations.get(token.integration_id)
    if integration is None:
        message = f"the token's integration {token.integration_id!r} is no longer in the policy; ask for a new token"
        raise ApiError(401, "token_unknown", message, headers=_CHALLENGE)
    if claimed is not None and claimed != token.actor_id:
        _refuse_actor_mismatch(request, ctx, token, claimed, now_us)
    return _Identity(token.actor_id, ctx.policy.actors.get(token.actor_id), integration)


def _refuse_actor_mismatch(request: Request, ctx: ApiContext, token: TokenIdentity, claimed: str, now_us: int) -> None:
    # Recorded as a DENY governance entry rather than through the gate: submitting it under either actor
    # could be *allowed* by the gate (both may be valid actors of the product), leaving an ALLOW in the ledger.
    details = {"claimed_actor": claimed[:128], "api": f"{request.method} {request.url.path}"[:200]}
    with ctx.engine.begin() as conn:
        seq = record_refusal(conn, ctx.policy, token, "token_actor_mismatch", now_us=now_us, details=details)
    message = f"X-Bucket-Actor {claimed[:64]!r} is not the actor this token was issued to (ledger seq {seq})"
    raise ApiError(403, "token_actor_mismatch", message, seq=seq)


def _identity_problem(identity: _Identity, kind: AccessKind) -> str | None:
    actor, integration = identity.actor, identity.integration
    if actor is None:
        return "actor_unknown"
    if integration.revoked or not integration.approved:
        return "integration_not_usable"
    if actor.kind is ActorKind.AUDITOR:
        if integration.product not in actor.scope:
            return "cross_product_access"
        return "auditor_read_only" if kind == "write" else None
    if actor.product != integration.product:
        return "cross_product_access"
    return "ai_write_only" if kind == "read" and actor.kind is ActorKind.AI else None


class Access:
    """A route's dependency: who calls, may they, and within their product's rate."""

    def __init__(self, kind: AccessKind, operation: Operation = Operation.READ) -> None:
        self.kind = kind
        self.operation = operation

    def __call__(
        self,
        request: Request,
        ctx: Annotated[ApiContext, Depends(get_context)],
        identity: Annotated[_Identity, Depends(_identify)],
    ) -> Caller:
        problem = _identity_problem(identity, self.kind)
        if problem is not None:
            record_denial(ctx, identity.actor_id, identity.integration, self.operation, request, problem)
        assert identity.actor is not None
        caller = Caller(identity.actor, identity.integration)
        if self.kind != "any":
            wait = ctx.limiter.acquire(caller.product_id, self.kind)
            if wait:
                message = f"product {caller.product_id!r} is over its {self.kind} rate; retry in {wait} s"
                raise ApiError(429, "rate_limited", message, headers={"Retry-After": str(wait)})
        return caller


def record_denial(
    ctx: ApiContext,
    actor_id: str,
    integration: Integration,
    operation: Operation,
    request: Request,
    fallback_code: str,
    *,
    product_id: str | None = None,
    artifact_id: str | None = None,
) -> None:
    """Ask the gate (which records the request in the ledger) and raise its refusal."""
    outcome = ctx.store.submit(
        AccessRequest(
            operation=operation,
            actor_id=actor_id,
            integration_id=integration.id,
            product_id=product_id or integration.product,
            artifact_id=artifact_id,
            details={"api": f"{request.method} {request.url.path}"[:200]},
        )
    )
    if outcome.allowed:  # the gate saw no problem the API did: still refuse, under the API's own code
        raise ApiError(403, fallback_code, f"request refused ({fallback_code}); ledger seq {outcome.seq}")
    decision = outcome.decision
    # The gate may list several reasons (e.g. the integration's product too); answer with the API's own
    # code when the gate agrees with it, so clients see one stable code per kind of refusal.
    code = fallback_code if fallback_code in {r.code for r in decision.reasons} else decision.code
    raise ApiError(decision.status, code, f"{decision.message} (ledger seq {outcome.seq})", seq=outcome.seq)


def deny_cross_product(
    ctx: ApiContext, caller: Caller, request: Request, product_id: str, artifact_id: str | None
) -> None:
    """A caller reached for another product's data: record the attempt (T7 reads it) and answer 403."""
    record_denial(
        ctx,
        caller.actor.id,
        caller.integration,
        Operation.READ,
        request,
        "cross_product_access",
        product_id=product_id,
        artifact_id=artifact_id,
    )


Reader = Annotated[Caller, Depends(Access("read"))]
Writer = Annotated[Caller, Depends(Access("write", Operation.CREATE))]
AuditAppender = Annotated[Caller, Depends(Access("write", Operation.APPEND_AUDIT))]
AnyCaller = Annotated[Caller, Depends(Access("any"))]
