"""T6 AI escalation cascade."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from bucket_governance.checks.threats.context import Hit, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions
from bucket_governance.policy import ActorKind

ESCALATING_OPERATIONS = ("UPDATE", "DELETE", "SCHEMA_CHANGE")


def ai_actor_ids(context: RuleContext) -> list[str]:
    return [a.id for a in context.policy.policy.actors if a.kind is ActorKind.AI]


@rule(
    "T6.automated_request",
    "an AI actor asked for UPDATE, DELETE, SCHEMA_CHANGE or cross-product access",
    proven_by="tests/unit/threats/test_t6.py",
)
def automated_request(context: RuleContext) -> Iterable[Hit]:
    query = ledger_in_window(
        context,
        L.c.actor_id.in_(ai_actor_ids(context)),
        or_(L.c.operation.in_(ESCALATING_OPERATIONS), reason_is("cross_product_access")),
    )
    return hits_by(context.conn.execute(query), "actor_id", {"operations": list(ESCALATING_OPERATIONS)})


def _escalations(context: RuleContext) -> list[ColumnElement[bool]]:
    """The requests ``T6.automated_request`` reports: an AI actor asking for more than its lane."""
    return [
        L.c.actor_id.in_(ai_actor_ids(context)),
        or_(L.c.operation.in_(ESCALATING_OPERATIONS), reason_is("cross_product_access")),
    ]


@rule(
    "T6.repeated_escalation",
    "one AI actor made at least N escalating requests (UPDATE, DELETE, SCHEMA_CHANGE, cross-product) in the window",
    proven_by="tests/unit/threats/test_t6.py",
    thresholds=("repeated_escalation_requests",),
)
def repeated_escalation(context: RuleContext) -> Iterable[Hit]:
    threshold = context.thresholds.repeated_escalation_requests
    window = (L.c.recorded_at_us >= context.window_start_us, L.c.recorded_at_us < context.window_end_us)
    repeaters = (
        select(L.c.actor_id)
        .where(*window, *_escalations(context))
        .group_by(L.c.actor_id)
        .having(func.count() >= threshold)
    )
    actors = list(context.conn.execute(repeaters).scalars())
    if not actors:
        return []
    rows = context.conn.execute(ledger_in_window(context, *_escalations(context), L.c.actor_id.in_(actors)))
    return hits_by(rows, "actor_id", {"threshold": threshold, "operations": list(ESCALATING_OPERATIONS)})


@rule(
    "T6.pressure_pattern",
    "at least N distinct AI actors had requests refused on the same target (artifact, or product) in the window",
    proven_by="tests/unit/threats/test_t6.py",
    thresholds=("pressure_min_actors",),
)
def pressure_pattern(context: RuleContext) -> Iterable[Hit]:
    threshold = context.thresholds.pressure_min_actors
    target = func.coalesce(L.c.artifact_id, L.c.product_id)
    refused = (L.c.actor_id.in_(ai_actor_ids(context)), L.c.decision == "DENY")
    window = (L.c.recorded_at_us >= context.window_start_us, L.c.recorded_at_us < context.window_end_us)
    pushed = (
        select(target.label("target"))
        .where(*window, *refused)
        .group_by(target)
        .having(func.count(func.distinct(L.c.actor_id)) >= threshold)
    )
    targets = [t for t in context.conn.execute(pushed).scalars() if t is not None]
    if not targets:
        return []
    rows = list(context.conn.execute(ledger_in_window(context, *refused, target.in_(targets))))
    owners = _target_products(context, targets)
    return [_pressure_hit(t, [r for r in rows if (r.artifact_id or r.product_id) == t], owners, threshold)
            for t in sorted(targets)]  # fmt: skip


def _target_products(context: RuleContext, targets: list[str]) -> dict[str, str]:
    """The product each target belongs to: an artifact's own product, or the product itself."""
    av = artifact_versions.c
    found = context.conn.execute(
        select(av.artifact_id, av.product_id).where(av.artifact_id.in_(targets), av.version == 1)
    )
    owners = {p: p for p in targets if p in context.policy.products}
    owners.update({row.artifact_id: row.product_id for row in found})
    return owners


def _pressure_hit(target: str, rows: list[Any], owners: dict[str, str], threshold: int) -> Hit:
    actors = sorted({r.actor_id for r in rows})
    (hit,) = hits_by(rows, "artifact_id", {"target": target, "ai_actors": actors, "threshold": threshold})
    return replace(hit, subject=target, product_id=owners.get(target, rows[0].product_id))
