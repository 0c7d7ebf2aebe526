"""Health: the database answers, the policy in force, the ledger head. Any authenticated actor may ask."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from bucket_governance.ledger.chain import ledger_head
from bucket_governance_api.auth import AnyCaller
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.schemas.common import ERROR_RESPONSES
from bucket_governance_api.schemas.ledger import Health

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


@router.get("/health", response_model=Health)
def health(caller: AnyCaller, ctx: Annotated[ApiContext, Depends(get_context)]) -> Health:
    """Is the service usable: the database answers and the ledger head is readable."""
    with ctx.engine.connect() as conn:
        head_seq, _ = ledger_head(conn)
    return Health(
        status="ok",
        database=ctx.engine.dialect.name,
        policy_fingerprint=ctx.policy.fingerprint,
        ledger_head_seq=head_seq,
        caller=caller.actor.id,
        product_id=caller.product_id,
    )
