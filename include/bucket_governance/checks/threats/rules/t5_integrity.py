"""T5.direct_db_access — artifact rows or payloads written around the gate, from the audit-integrity results."""

from __future__ import annotations

from bucket_governance.checks.integrity_rules import integrity_hits
from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext
from bucket_governance.checks.threats.registry import rule


@rule(
    "T5.direct_db_access",
    "artifact versions with no matching ledger entry, versions that differ from their entry, or payloads "
    "that no longer hash to their content hash (written around the gate)",
    proven_by="tests/unit/threats/test_t5_integrity.py",
)
def direct_db_access(context: RuleContext) -> list[Hit] | NotEvaluated:
    return integrity_hits(context, "T5.direct_db_access")
