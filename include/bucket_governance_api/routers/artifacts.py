"""The Bucket itself: write an artifact version; read one version, the latest, or the version list.

Writes and reads go through the governed store, so each one is decided by the gate and is a ledger entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Query

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.policy import ActorKind, Operation
from bucket_governance_api.audit_queries import artifact_product
from bucket_governance_api.auth import Caller, Reader, Writer
from bucket_governance_api.context import ApiContext, get_app_context, get_context
from bucket_governance_api.errors import ApiError
from bucket_governance_api.routers.params import ArtifactIdPath, VersionPath
from bucket_governance_api.schemas.bucket import ArtifactView, ArtifactWrite, ReadResult, VersionList, WriteResult
from bucket_governance_api.schemas.common import ERROR_RESPONSES, WRITE_ERROR_RESPONSES


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await anyio.to_thread.run_sync(get_app_context(app).close)  # waits for the committer's current group


router = APIRouter(prefix="/artifacts", tags=["bucket"], lifespan=_lifespan)
Context = Annotated[ApiContext, Depends(get_context)]
IncludePayload = Annotated[bool, Query(description="also return the payload as text when it is UTF-8")]


def _create(ctx: ApiContext, caller: Caller, body: ArtifactWrite, artifact_id: str | None) -> WriteResult:
    create = ctx.committer.create if ctx.committer else ctx.store.create
    outcome = create(
        CreateRequest(
            actor_id=caller.actor.id,
            integration_id=caller.integration.id,
            product_id=caller.product_id,
            artifact_class=body.artifact_class,
            owner_id=body.owner_id,
            artifact_id=artifact_id,
            expected_version=body.expected_version,
            payload=body.payload_text.encode() if body.payload_text is not None else None,
            reference_url=body.reference_url,
            metadata=body.metadata,
            provenance=body.provenance,
            claimed_at_us=body.claimed_at_us,
            schema_version=body.schema_version,
        )
    ).raise_if_denied()
    assert outcome.artifact_id is not None and outcome.version is not None
    return WriteResult(
        artifact_id=outcome.artifact_id, version=outcome.version, seq=outcome.seq, entry_hash=outcome.entry_hash
    )


@router.post("", status_code=201, response_model=WriteResult, responses=WRITE_ERROR_RESPONSES)
def create_artifact(body: ArtifactWrite, caller: Writer, ctx: Context) -> WriteResult:
    """Write a new artifact, or a new version of one (state ``expected_version``); a ledger entry either way."""
    return _create(ctx, caller, body, body.artifact_id)


@router.post("/{artifact_id}/versions", status_code=201, response_model=WriteResult, responses=WRITE_ERROR_RESPONSES)
def create_version(artifact_id: ArtifactIdPath, body: ArtifactWrite, caller: Writer, ctx: Context) -> WriteResult:
    """Write the next version of ``artifact_id``; ``expected_version`` must be its current version (else 409)."""
    if body.artifact_id is not None and body.artifact_id != artifact_id:
        raise ApiError(422, "artifact_id_mismatch", "the body's artifact_id differs from the one in the path")
    return _create(ctx, caller, body, artifact_id)


def _read_request(ctx: ApiContext, caller: Caller, artifact_id: str, version: int | None) -> AccessRequest:
    product_id = caller.product_id
    if caller.actor.kind is ActorKind.AUDITOR:
        # An auditor reads in the artifact's own product; the gate checks that product is in its scope.
        with ctx.engine.connect() as conn:
            product_id = artifact_product(conn, artifact_id) or product_id
    return AccessRequest(
        operation=Operation.READ,
        actor_id=caller.actor.id,
        integration_id=caller.integration.id,
        product_id=product_id,
        artifact_id=artifact_id,
        version=version,
        details={"api": "artifact"},
    )


def _read(ctx: ApiContext, caller: Caller, artifact_id: str, version: int | None, include: bool) -> ReadResult:
    read = ctx.committer.read if ctx.committer else ctx.store.read
    outcome, found = read(_read_request(ctx, caller, artifact_id, version))
    outcome.raise_if_denied()
    assert found is not None
    payload = ctx.store.payload(found.content_hash) if include else None
    return ReadResult(artifact=ArtifactView.of(found, payload), seq=outcome.seq)


@router.get("/{artifact_id}", response_model=ReadResult, responses=ERROR_RESPONSES)
def read_latest(
    artifact_id: ArtifactIdPath, caller: Reader, ctx: Context, include_payload: IncludePayload = False
) -> ReadResult:
    """The latest version (a governed, ledger-recorded READ)."""
    return _read(ctx, caller, artifact_id, None, include_payload)


@router.get("/{artifact_id}/versions", response_model=VersionList, responses=ERROR_RESPONSES)
def list_versions(artifact_id: ArtifactIdPath, caller: Reader, ctx: Context) -> VersionList:
    """Every version, oldest first (capped by the result-set limit)."""
    outcome, versions = ctx.store.history(_read_request(ctx, caller, artifact_id, None))
    outcome.raise_if_denied()
    return VersionList(artifact_id=artifact_id, versions=[ArtifactView.of(v) for v in versions], seq=outcome.seq)


@router.get("/{artifact_id}/versions/{version}", response_model=ReadResult, responses=ERROR_RESPONSES)
def read_version(
    artifact_id: ArtifactIdPath,
    version: VersionPath,
    caller: Reader,
    ctx: Context,
    include_payload: IncludePayload = False,
) -> ReadResult:
    """One version (a governed, ledger-recorded READ)."""
    return _read(ctx, caller, artifact_id, version, include_payload)
