"""Findings of the threat scan and the other checks, for the caller's products."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from bucket_governance.results.findings import get_finding, list_findings
from bucket_governance_api.auth import Reader, deny_cross_product
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.routers.params import Limit
from bucket_governance_api.schemas.common import ERROR_RESPONSES
from bucket_governance_api.schemas.ledger import FindingList, FindingView

router = APIRouter(prefix="/findings", tags=["findings"], responses=ERROR_RESPONSES)
Context = Annotated[ApiContext, Depends(get_context)]
Status = Literal["open", "acknowledged", "resolved", "suppressed"]


@router.get("", response_model=FindingList)
def findings(
    caller: Reader,
    ctx: Context,
    status: Annotated[list[Status] | None, Query()] = None,
    threat_id: Annotated[str | None, Query(max_length=8)] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 1000,
) -> FindingList:
    """Findings of the caller's products, newest first."""
    rows = []
    with ctx.engine.connect() as conn:
        for product_id in sorted(caller.readable_products):
            rows += list_findings(
                conn, statuses=status or (), rule_id=rule_id, threat_id=threat_id, product_id=product_id, limit=limit
            )
    rows.sort(key=lambda f: (-f["last_seen_us"], f["finding_id"]))
    return FindingList(findings=[FindingView.model_validate(f) for f in rows[:limit]])


@router.get("/{finding_id}", response_model=FindingView)
def finding(
    finding_id: Annotated[str, Path(min_length=1, max_length=64)], caller: Reader, ctx: Context, request: Request
) -> FindingView:
    """One finding with its evidence."""
    with ctx.engine.connect() as conn:
        found = get_finding(conn, finding_id)
    if found["product_id"] not in caller.readable_products:
        deny_cross_product(ctx, caller, request, found["product_id"] or caller.product_id, None)
    return FindingView.model_validate(found)
