"""T2 Metadata poisoning."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_

from bucket_governance.checks.threats.context import Hit, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is

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
    )
    return hits_by(context.conn.execute(query), "integration_id", {"approved_integrations": len(valid)})
