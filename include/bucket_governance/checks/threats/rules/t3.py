"""T3 Silent schema evolution — read from the schema-drift pipeline's results, never re-validated here.

The drift pipeline (``checks/drift``) validates metadata with Great Expectations and stores each located
change in ``drift_results``; these rules report the changes whose offending versions fall in the scan
window. A window no drift run has covered for every product is "not evaluated", never a silent pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from bucket_governance.checks.drift.pipeline import PIPELINE, change_subject, drift_results_in
from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.db.tables import governance_runs

PROVEN_BY = "tests/unit/threats/test_t3.py"


def uncovered_products(context: RuleContext) -> list[str]:
    """Products whose finished drift runs do not, together, cover the whole scan window."""
    runs = governance_runs.c
    query = select(runs.pipeline, runs.window_start_us, runs.window_end_us).where(
        runs.pipeline.like(f"{PIPELINE}:%"),
        runs.status.in_(("clean", "findings")),
        runs.window_start_us < context.window_end_us,
        runs.window_end_us > context.window_start_us,
    )
    spans: dict[str, list[tuple[int, int]]] = {}
    for row in context.conn.execute(query):
        spans.setdefault(row.pipeline.split(":", 1)[1], []).append((row.window_start_us, row.window_end_us))
    return [p.id for p in context.policy.policy.products if not _covers(spans.get(p.id, []), context)]


def _covers(spans: list[tuple[int, int]], context: RuleContext) -> bool:
    reached = context.window_start_us
    for start, end in sorted(spans):
        if start > reached:
            return False
        reached = max(reached, end)
    return reached >= context.window_end_us


def drift_hits(context: RuleContext, rule_id: str) -> Iterable[Hit] | NotEvaluated:
    missing = uncovered_products(context)
    if missing:
        return NotEvaluated(f"no schema-drift run covers this window for {', '.join(missing)}")
    hits: dict[str, Hit] = {}
    for result in drift_results_in(context.conn, context.window_start_us, context.window_end_us):
        for change in result["changes"]:
            if change["rule_id"] == rule_id and _in_window(change, context):
                hit = _hit(result, change)
                hits.setdefault(f"{hit.subject}|{hit.key()}", hit)
    return list(hits.values())


def _in_window(change: dict[str, Any], context: RuleContext) -> bool:
    return bool(change["first_seen_us"] < context.window_end_us and change["last_seen_us"] >= context.window_start_us)


def _hit(result: dict[str, Any], change: dict[str, Any]) -> Hit:
    # Same subject and window key as the drift pipeline's own finding, so both land on one finding.
    return Hit(
        subject=change_subject(result["product_id"], result["artifact_class"], change["field"]),
        product_id=result["product_id"],
        first_seen_us=change["first_seen_us"],
        last_seen_us=change["last_seen_us"],
        evidence={**change, "artifact_class": result["artifact_class"], "baseline_id": result["baseline_id"]},
        occurrence_keys=tuple(change["sample_artifact_ids"]),
        count=change["count"],
        window_key=f"baseline:{result['baseline_id']}",
    )


@rule(
    "T3.new_required_field",
    "a metadata field not in the product's approved baseline (additive or breaking, from the drift pipeline)",
    proven_by=PROVEN_BY,
)
def new_required_field(context: RuleContext) -> Iterable[Hit] | NotEvaluated:
    return drift_hits(context, "T3.new_required_field")


@rule(
    "T3.type_change",
    "a metadata field whose JSON type (or allowed value) differs from the baseline (from the drift pipeline)",
    proven_by=PROVEN_BY,
)
def type_change(context: RuleContext) -> Iterable[Hit] | NotEvaluated:
    return drift_hits(context, "T3.type_change")


@rule(
    "T3.field_removal",
    "a baseline-required metadata field missing or null (from the drift pipeline)",
    proven_by=PROVEN_BY,
)
def field_removal(context: RuleContext) -> Iterable[Hit] | NotEvaluated:
    return drift_hits(context, "T3.field_removal")
