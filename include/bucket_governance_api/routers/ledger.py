"""Legal defensibility: the latest signed checkpoint, and inclusion proofs an outsider verifies offline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bucket_governance.ledger.checkpoint_store import latest_checkpoint
from bucket_governance.ledger.proof_build import inclusion_for_artifact, inclusion_for_seq
from bucket_governance_api import audit_queries
from bucket_governance_api.auth import Reader, deny_cross_product
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.errors import ApiError
from bucket_governance_api.routers.params import ArtifactIdPath, SeqPath, VersionPath
from bucket_governance_api.schemas.common import ERROR_RESPONSES
from bucket_governance_api.schemas.ledger import CheckpointView, ProofFile

router = APIRouter(tags=["ledger"], responses=ERROR_RESPONSES)
Context = Annotated[ApiContext, Depends(get_context)]


@router.get("/ledger/checkpoints/latest", response_model=CheckpointView)
def latest(_caller: Reader, ctx: Context) -> CheckpointView:
    """The newest signed checkpoint (tree size, root hash, the signed note, its consistency proof)."""
    with ctx.engine.connect() as conn:
        stored = latest_checkpoint(conn)
    if stored is None:
        raise ApiError(404, "checkpoint_missing", "no checkpoint has been signed yet: run `bucket-gov checkpoint`")
    return CheckpointView(**stored.as_dict())


@router.get("/ledger/entries/{seq}/proof", response_model=ProofFile)
def entry_proof(seq: SeqPath, caller: Reader, ctx: Context, request: Request) -> ProofFile:
    """Inclusion proof of ledger entry ``seq`` in the newest signed checkpoint covering it."""
    with ctx.engine.connect() as conn:
        exists, product_id = audit_queries.entry_product(conn, seq)
    if exists and product_id not in caller.readable_products:
        deny_cross_product(ctx, caller, request, product_id or caller.product_id, None)
    with ctx.engine.connect() as conn:
        return ProofFile(proof=inclusion_for_seq(conn, seq))


@router.get("/artifacts/{artifact_id}/versions/{version}/proof", response_model=ProofFile, tags=["bucket"])
def artifact_proof(
    artifact_id: ArtifactIdPath, version: VersionPath, caller: Reader, ctx: Context, request: Request
) -> ProofFile:
    """Inclusion proof of the ledger entry that recorded ``artifact_id`` version ``version``."""
    with ctx.engine.connect() as conn:
        product_id = audit_queries.artifact_product(conn, artifact_id)
    if product_id is not None and product_id not in caller.readable_products:
        deny_cross_product(ctx, caller, request, product_id, artifact_id)
    with ctx.engine.connect() as conn:
        return ProofFile(proof=inclusion_for_artifact(conn, artifact_id, version))
