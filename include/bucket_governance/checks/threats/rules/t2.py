"""T2 Metadata poisoning."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select

from bucket_governance.checks.threats.context import US_PER_SECOND, Hit, RuleContext
from bucket_governance.checks.threats.evidence import SubjectHits
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions

INTEGRATION_REASONS = ("integration_unknown", "integration_revoked", "integration_not_approved")


@rule(
    "T2.invalid_integration",
    "requests arriving through an unknown, revoked or unapproved integration",
    proven_by="tests/unit/threats/test_t2.py",
)
def invalid_integration(context: RuleContext) -> Iterable[Hit]:
    valid = [i.id for i in context.policy.policy.integrations if i.approved and not i.revoked]
    query = ledger_in_window(
        context,
        or_(L.c.integration_id.is_(None), L.c.integration_id.not_in(valid), *map(reason_is, INTEGRATION_REASONS)),
        # governance actions (approvals, playbook containment) are taken by people, not through an integration
        L.c.operation != "GOVERNANCE_ACTION",
    )
    return hits_by(context.conn.execute(query), "integration_id", {"approved_integrations": len(valid)})


# -- T2.forged_owner and T2.backdated_timestamp: the writing actor is the subject (F1 freezes it) ----------

A = artifact_versions


def _version_item(row: Any) -> dict[str, Any]:
    return {"artifact_id": row.artifact_id, "version": row.version, "ledger_seq": row.ledger_seq}


def _stored_in_window(context: RuleContext, *conditions: Any) -> Any:
    return select(A).where(
        A.c.created_at_us >= context.window_start_us, A.c.created_at_us < context.window_end_us, *conditions
    )


def _owner_mismatch(context: RuleContext) -> Any:
    """A stored owner that is not an owner of the version's product, or of its writing integration's product."""
    products, integrations = context.policy.products, context.policy.integrations
    by_product = [and_(A.c.product_id == p.id, A.c.owner_id.not_in(p.owners)) for p in products.values()]
    by_integration = [
        and_(A.c.integration_id == i.id, A.c.owner_id.not_in(products[i.product].owners))
        for i in integrations.values()
        if i.product in products
    ]
    return or_(*by_product, *by_integration)


@rule(
    "T2.forged_owner",
    "a real actor named as owner who is not an owner of the writing integration's product, refused or stored "
    "(an owner id naming no actor at all is T9.ambiguous_owner instead)",
    proven_by="tests/unit/threats/test_t2.py",
)
def forged_owner(context: RuleContext) -> Iterable[Hit]:
    known = sorted(context.policy.actors)
    found = SubjectHits({"reason_code": "owner_not_of_product"})
    refused = ledger_in_window(context, L.c.operation == "CREATE", reason_is("owner_not_of_product"))
    for row in context.conn.execute(refused.add_columns(L.c.details)):
        owner = json.loads(row.details).get("owner_id")
        if owner not in known:
            continue  # nobody can answer for it: T9.ambiguous_owner's case
        item = {"seq": row.seq, "owner_id": owner, "integration_id": row.integration_id, "artifact_id": row.artifact_id}
        found.add(str(row.actor_id), row.product_id, row.recorded_at_us, "refused", item, f"seq:{row.seq}")
    stored = _stored_in_window(context, A.c.owner_id.in_(known), _owner_mismatch(context))
    for row in context.conn.execute(stored):
        item = {**_version_item(row), "owner_id": row.owner_id, "integration_id": row.integration_id}
        found.add(row.created_by, row.product_id, row.created_at_us, "stored", item, f"seq:{row.ledger_seq}")
    return found.hits()


@rule(
    "T2.backdated_timestamp",
    "a client-claimed time before (or after) the server time by more than the tolerance, stored or refused",
    proven_by="tests/unit/threats/test_t2.py",
    thresholds=("limits.tolerances.claimed_time_seconds",),
)
def backdated_timestamp(context: RuleContext) -> Iterable[Hit]:
    seconds = context.policy.limits.tolerances.claimed_time_seconds
    tolerance = seconds * US_PER_SECOND
    found = SubjectHits({"tolerance_seconds": seconds})
    skewed = or_(A.c.claimed_at_us < A.c.created_at_us - tolerance, A.c.claimed_at_us > A.c.created_at_us + tolerance)
    for row in context.conn.execute(_stored_in_window(context, A.c.claimed_at_us.is_not(None), skewed)):
        skew = (row.claimed_at_us - row.created_at_us) // US_PER_SECOND
        item = {**_version_item(row), "claimed_at_us": row.claimed_at_us, "skew_seconds": skew}
        found.add(row.created_by, row.product_id, row.created_at_us, "stored", item, f"seq:{row.ledger_seq}")
    _refused_claims(context, found, tolerance)
    return found.hits()


def _refused_claims(context: RuleContext, found: SubjectHits, tolerance: int) -> None:
    """Refused CREATEs keep their claim only in the entry's details: parse just those that carry one."""
    claimed = L.c.details.not_like('%"claimed_at_us":null%')
    query = ledger_in_window(context, L.c.operation == "CREATE", L.c.decision == "DENY", claimed).add_columns(
        L.c.details
    )
    for row in context.conn.execute(query):
        claim = json.loads(row.details).get("claimed_at_us")
        if isinstance(claim, int) and abs(claim - row.recorded_at_us) > tolerance:
            item = {
                "seq": row.seq,
                "claimed_at_us": claim,
                "skew_seconds": (claim - row.recorded_at_us) // US_PER_SECOND,
            }
            found.add(str(row.actor_id), row.product_id, row.recorded_at_us, "refused", item, f"seq:{row.seq}")
