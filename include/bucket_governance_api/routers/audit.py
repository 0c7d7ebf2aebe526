"""The audit trail of the caller's products: per artifact, per requester, recent, failed; the
immutability re-check of an artifact; and appending an audit note (an APPEND_AUDIT ledger entry).

Reaching for another product's trail is refused with 403 and recorded in the ledger (T7 reads it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bucket_governance.bucket.requests import AccessRequest
from bucket_governance.policy import ActorKind, Operation
from bucket_governance_api import audit_queries
from bucket_governance_api.audit_queries import L
from bucket_governance_api.auth import AuditAppender, Caller, Reader, deny_cross_product
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.errors import ApiError
from bucket_governance_api.routers.params import ActorIdPath, ArtifactIdPath, Limit, ProductFilter
from bucket_governance_api.schemas.audit import (
    AppendResult,
    AuditNote,
    EntryList,
    ImmutabilityProblem,
    ImmutabilityReport,
    LedgerEntryView,
)
from bucket_governance_api.schemas.common import ERROR_RESPONSES

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)
Context = Annotated[ApiContext, Depends(get_context)]


def _listing(rows: list[dict[str, object]]) -> EntryList:
    return EntryList(entries=[LedgerEntryView.model_validate(r) for r in rows], count=len(rows))


def _artifact_in_scope(ctx: ApiContext, caller: Caller, request: Request, artifact_id: str) -> None:
    with ctx.engine.connect() as conn:
        owner_product = audit_queries.artifact_product(conn, artifact_id)
    if owner_product is not None and owner_product not in caller.readable_products:
        deny_cross_product(ctx, caller, request, owner_product, artifact_id)


def _products(ctx: ApiContext, caller: Caller, request: Request, product_id: str | None) -> frozenset[str]:
    if product_id is None:
        return caller.readable_products
    if product_id not in caller.readable_products:
        deny_cross_product(ctx, caller, request, product_id, None)
    return frozenset({product_id})


@router.get("/artifact/{artifact_id}", response_model=EntryList)
def artifact_trail(
    artifact_id: ArtifactIdPath, caller: Reader, ctx: Context, request: Request, limit: Limit = 1000
) -> EntryList:
    """Every ledger entry about ``artifact_id`` (writes, reads, refusals), newest first."""
    _artifact_in_scope(ctx, caller, request, artifact_id)
    with ctx.engine.connect() as conn:
        return _listing(
            audit_queries.entries(conn, caller.readable_products, L.c.artifact_id == artifact_id, limit=limit)
        )


@router.get("/user/{requester_id}", response_model=EntryList)
def requester_trail(
    requester_id: ActorIdPath, caller: Reader, ctx: Context, request: Request, limit: Limit = 1000
) -> EntryList:
    """Every ledger entry of one requester (actor) within the caller's products, newest first."""
    requester = ctx.policy.actors.get(requester_id)
    if (
        requester is not None
        and requester.kind is not ActorKind.AUDITOR
        and requester.product not in caller.readable_products
    ):
        deny_cross_product(ctx, caller, request, requester.product or caller.product_id, None)
    with ctx.engine.connect() as conn:
        return _listing(
            audit_queries.entries(conn, caller.readable_products, L.c.actor_id == requester_id, limit=limit)
        )


@router.get("/recent", response_model=EntryList)
def recent(
    caller: Reader, ctx: Context, request: Request, limit: Limit = 100, product_id: ProductFilter = None
) -> EntryList:
    """The newest ledger entries of the caller's products (or of one of them)."""
    products = _products(ctx, caller, request, product_id)
    with ctx.engine.connect() as conn:
        return _listing(audit_queries.entries(conn, products, limit=limit))


@router.get("/failed", response_model=EntryList)
def failed(
    caller: Reader, ctx: Context, request: Request, limit: Limit = 100, product_id: ProductFilter = None
) -> EntryList:
    """The newest refused requests (decision DENY) of the caller's products."""
    products = _products(ctx, caller, request, product_id)
    with ctx.engine.connect() as conn:
        return _listing(audit_queries.entries(conn, products, L.c.decision == "DENY", limit=limit))


@router.post("/validate-immutability/{artifact_id}", response_model=ImmutabilityReport)
def validate_immutability(
    artifact_id: ArtifactIdPath, caller: Reader, ctx: Context, request: Request
) -> ImmutabilityReport:
    """Re-verify every version of ``artifact_id``: its ledger entry exists, matches, hashes right; its payload
    still hashes to its content hash. Nothing is changed."""
    _artifact_in_scope(ctx, caller, request, artifact_id)
    with ctx.engine.connect() as conn:
        checked, problems = audit_queries.immutability_problems(conn, artifact_id)
    if not checked:
        raise ApiError(404, "artifact_not_found", f"artifact {artifact_id!r} has no stored version")
    return ImmutabilityReport(
        artifact_id=artifact_id,
        versions_checked=checked,
        valid=not problems,
        problems=[ImmutabilityProblem(**p) for p in problems],
    )


@router.post("/log", status_code=201, response_model=AppendResult)
def append_audit(body: AuditNote, caller: AuditAppender, ctx: Context) -> AppendResult:
    """Put a note on the record: an APPEND_AUDIT request through the gate. Appends only — nothing is changed."""
    outcome = ctx.store.submit(
        AccessRequest(
            operation=Operation.APPEND_AUDIT,
            actor_id=caller.actor.id,
            integration_id=caller.integration.id,
            product_id=caller.product_id,
            artifact_id=body.artifact_id,
            details={"note": body.note, "details": body.details},
        )
    ).raise_if_denied()
    return AppendResult(seq=outcome.seq, entry_hash=outcome.entry_hash)
