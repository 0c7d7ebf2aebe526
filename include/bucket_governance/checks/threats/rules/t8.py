"""T8 Audit trail tampering — read from the audit-integrity pipeline's results (checks/integrity.py)."""

from __future__ import annotations

from bucket_governance.checks.integrity_rules import integrity_hits
from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext
from bucket_governance.checks.threats.registry import rule


@rule(
    "T8.log_deletion",
    "a ledger sequence gap, or a ledger shorter than the last verified entry or the last signed checkpoint",
    proven_by="tests/unit/threats/test_t8.py",
)
def log_deletion(context: RuleContext) -> list[Hit] | NotEvaluated:
    return integrity_hits(context, "T8.log_deletion")


@rule(
    "T8.timestamp_manipulation",
    "ledger time going backwards by more than the clock-skew tolerance",
    proven_by="tests/unit/threats/test_t8.py",
    thresholds=("limits.tolerances.ledger_clock_skew_seconds",),
)
def timestamp_manipulation(context: RuleContext) -> list[Hit] | NotEvaluated:
    return integrity_hits(context, "T8.timestamp_manipulation")


@rule(
    "T8.selective_omission",
    "an entry whose stored fields no longer hash to its hash, an artifact version without its ledger entry, "
    "or an allowed CREATE entry without its version",
    proven_by="tests/unit/threats/test_t8.py",
)
def selective_omission(context: RuleContext) -> list[Hit] | NotEvaluated:
    return integrity_hits(context, "T8.selective_omission")
