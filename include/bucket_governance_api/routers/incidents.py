"""Incidents opened by the failure playbooks, for the caller's products (read from each incident's form)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from bucket_governance.incidents.records import get_incident, incident_products, list_incidents
from bucket_governance_api.auth import Reader, deny_cross_product
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.routers.params import Limit
from bucket_governance_api.schemas.common import ERROR_RESPONSES
from bucket_governance_api.schemas.ledger import IncidentList, IncidentView

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=ERROR_RESPONSES)
Context = Annotated[ApiContext, Depends(get_context)]


@router.get("", response_model=IncidentList)
def incidents(
    caller: Reader,
    ctx: Context,
    playbook: Annotated[str | None, Query(pattern=r"^F([1-9]|10)$")] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 200,
) -> IncidentList:
    """Incidents concerning the caller's products, newest first (timelines via GET /incidents/{id})."""
    visible: list[dict[str, Any]] = []
    with ctx.engine.connect() as conn:
        for found in list_incidents(conn, playbook=playbook, status=status, limit=5000):
            if incident_products(found, ctx.policy, conn) & caller.readable_products:
                visible.append(found)
            if len(visible) >= limit:
                break
    return IncidentList(incidents=[IncidentView.model_validate(i) for i in visible])


@router.get("/{incident_id}", response_model=IncidentView)
def incident(
    incident_id: Annotated[str, Path(min_length=1, max_length=32)], caller: Reader, ctx: Context, request: Request
) -> IncidentView:
    """One incident with its timeline (every step, actor, time and ledger entry)."""
    with ctx.engine.connect() as conn:
        found = get_incident(conn, incident_id)
        products = incident_products(found, ctx.policy, conn)
    if not products & caller.readable_products:
        deny_cross_product(ctx, caller, request, min(products) if products else caller.product_id, None)
    return IncidentView.model_validate(found)
