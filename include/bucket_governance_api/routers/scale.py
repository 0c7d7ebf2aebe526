"""Scale limits (SPEC §1): the limits in force, a dry-run check of a proposed write, proximity to a limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import Connection, func, select

from bucket_governance.db.tables import ledger_entries, product_usage
from bucket_governance.policy import LoadedPolicy
from bucket_governance_api.auth import AnyCaller, Caller, Reader
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.errors import ApiError
from bucket_governance_api.schemas.common import ERROR_RESPONSES
from bucket_governance_api.schemas.governance import (
    ItemVerdict,
    LimitsView,
    Problem,
    ProposedItem,
    Proximity,
    ScaleLists,
    ScaleValidateRequest,
    ScaleValidateResult,
)

router = APIRouter(prefix="/governance/scale", tags=["governance"], responses=ERROR_RESPONSES)
Context = Annotated[ApiContext, Depends(get_context)]
RATE_WINDOW_S = 60  # current rates are averaged over the last minute of the ledger


@router.get("/limits", response_model=LimitsView)
def limits(caller: Reader, ctx: Context) -> LimitsView:
    """Every limit in force, with the caller's product rates and quota."""
    product = ctx.policy.products[caller.product_id]
    return LimitsView(
        product_id=product.id,
        write_rate_per_second=ctx.limiter.rate_of(product.id, "write"),
        read_rate_per_second=ctx.limiter.rate_of(product.id, "read"),
        quota_bytes=int(product.quota),
        limits=ctx.policy.limits.model_dump(mode="json"),
    )


@router.get("/what-scales", response_model=ScaleLists)
def what_scales(_caller: Reader, ctx: Context) -> ScaleLists:
    """The published lists: what scales, what does not, what never to assume, what the Bucket refuses."""
    return ScaleLists(**ctx.policy.policy.scale.model_dump())


def _item_problems(item: ProposedItem, policy: LoadedPolicy, product_id: str) -> list[Problem]:
    limits, problems = policy.limits, []
    cls = policy.classes.get(item.artifact_class)
    if cls is None:
        problems.append(Problem(code="class_unknown", message=f"artifact class {item.artifact_class!r} is unknown"))
    elif cls.name not in policy.products[product_id].artifact_classes:
        problems.append(Problem(code="class_not_allowed", message=f"product {product_id!r} may not store {cls.name}"))
    checks = (
        ("payload_too_large", item.payload_bytes, int(limits.artifact_size), "payload bytes"),
        ("metadata_too_large", item.metadata_bytes, int(limits.metadata_size), "metadata bytes"),
        ("metadata_too_deep", item.metadata_depth, limits.metadata_max_depth, "metadata nesting levels"),
    )
    for code, value, limit, what in checks:
        if value > limit:
            problems.append(Problem(code=code, message=f"{value} {what}; the limit is {limit}"))
    return problems


@router.post("/validate", response_model=ScaleValidateResult)
def validate(body: ScaleValidateRequest, caller: AnyCaller, ctx: Context) -> ScaleValidateResult:
    """Check a proposed write or batch against the limits before sending it (nothing is stored)."""
    verdicts = [
        ItemVerdict(index=i, problems=_item_problems(item, ctx.policy, caller.product_id))
        for i, item in enumerate(body.items)
    ]
    batch = ctx.policy.limits.batch_size
    size, total = len(body.items), sum(i.payload_bytes for i in body.items)
    level = "safe" if size <= (batch.safe or batch.max) else "warning" if size <= batch.max else "over"
    batch_problems = []
    if level == "over":
        batch_problems.append(
            Problem(code="batch_too_large", message=f"{size} items; a batch holds at most {int(batch.max)}")
        )
    with ctx.engine.connect() as conn:
        used = (
            conn.execute(
                select(product_usage.c.bytes_stored).where(product_usage.c.product_id == caller.product_id)
            ).scalar()
            or 0
        )
    quota = int(ctx.policy.products[caller.product_id].quota)
    if used + total > quota:
        batch_problems.append(
            Problem(code="quota_exceeded", message=f"{used} + {total} bytes exceed the quota of {quota}")
        )
    ok = not batch_problems and not any(v.problems for v in verdicts)
    return ScaleValidateResult(
        ok=ok, batch_size=size, batch_level=level, total_bytes=total, batch_problems=batch_problems, items=verdicts
    )


# -- proximity ---------------------------------------------------------------------------------------------

Measure = Callable[[Connection, ApiContext, Caller], tuple[float, float, float, str]]  # current, limit, warning, what


def _usage(conn: Connection, product_id: str) -> tuple[int, int]:
    row = conn.execute(select(product_usage).where(product_usage.c.product_id == product_id)).first()
    return (int(row.bytes_stored), int(row.artifact_versions)) if row else (0, 0)


def _storage(conn: Connection, ctx: ApiContext, caller: Caller) -> tuple[float, float, float, str]:
    quota = float(ctx.policy.products[caller.product_id].quota)
    return _usage(conn, caller.product_id)[0], quota, quota * ctx.policy.limits.storage.warning_ratio, "bytes stored"


def _artifacts(conn: Connection, ctx: ApiContext, caller: Caller) -> tuple[float, float, float, str]:
    tier = ctx.policy.limits.artifacts_per_product
    return _usage(conn, caller.product_id)[1], tier.max, tier.warning or tier.max * 0.9, "artifact versions"


def _rate(operation: str, kind: str) -> Measure:
    def measure(conn: Connection, ctx: ApiContext, caller: Caller) -> tuple[float, float, float, str]:
        since = time.time_ns() // 1000 - RATE_WINDOW_S * 1_000_000
        count = conn.execute(
            select(func.count()).where(
                ledger_entries.c.product_id == caller.product_id,
                ledger_entries.c.operation == operation,
                ledger_entries.c.recorded_at_us >= since,
            )
        ).scalar_one()
        limit = ctx.limiter.rate_of(caller.product_id, "write" if kind == "writes" else "read")
        return count / RATE_WINDOW_S, limit, limit * 0.9, f"{kind} per second over the last minute"

    return measure


PROXIMITY: dict[str, Measure] = {
    "storage": _storage,
    "artifacts_per_product": _artifacts,
    "writes_per_second": _rate("CREATE", "writes"),
    "reads_per_second": _rate("READ", "reads"),
}


@router.get("/proximity/{limit_name}", response_model=Proximity)
def proximity(limit_name: Annotated[str, Path(min_length=1, max_length=64)], caller: Reader, ctx: Context) -> Proximity:
    """How close the caller's product is to one limit: current usage, the limit, the ratio and a status."""
    measure = PROXIMITY.get(limit_name)
    if measure is None:
        raise ApiError(404, "limit_unknown", f"no limit {limit_name!r}; known: {', '.join(PROXIMITY)}")
    with ctx.engine.connect() as conn:
        current, limit, warning, what = measure(conn, ctx, caller)
    ratio = current / limit if limit else 0.0
    critical = limit * ctx.policy.limits.storage.critical_ratio
    status = "critical" if current >= critical else "warning" if current >= warning else "ok"
    return Proximity(
        limit_name=limit_name,
        product_id=caller.product_id,
        current=current,
        limit=limit,
        ratio=ratio,
        status=status,
        detail=f"{current:g} {what} of {limit:g}",
    )
