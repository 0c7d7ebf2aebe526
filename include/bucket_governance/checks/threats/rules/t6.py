"""T6 AI escalation cascade."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_

from bucket_governance.checks.threats.context import Hit, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
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
