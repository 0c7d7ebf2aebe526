"""T3 rules read the schema-drift pipeline's results: crafted drift results fire them, a near miss does not,
and a window no drift run covered is "not evaluated"."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert

from bucket_governance.checks.drift.pipeline import pipeline_for
from bucket_governance.db.tables_drift import drift_results
from bucket_governance.results.runs import finish_run, start_run
from tests.unit.threats.conftest import MINUTE, T0, RuleBench, subjects

pytestmark = pytest.mark.unit
HOUR = 60 * MINUTE


def _cover(bench: RuleBench, start: int, end: int, changes_by_product: dict[str, list[dict[str, object]]]) -> None:
    """Record a finished drift run per product over [start, end), with the given changes for MediaArtifact."""
    for product in bench.policy.products:
        run_id = start_run(bench.engine, pipeline_for(product), start, end)
        changes = changes_by_product.get(product, [])
        with bench.engine.begin() as conn:
            conn.execute(
                insert(drift_results).values(
                    run_id=run_id, product_id=product, artifact_class="MediaArtifact", window_start_us=start,
                    window_end_us=end, baseline_id=f"{product}/MediaArtifact/v1",
                    status="drift" if changes else "clean", rows_validated=10,
                    failing_fields=json.dumps([c["field"] for c in changes]), changes=json.dumps(changes),
                    expectations_total=5, expectations_failed=len(changes), evaluated_at_us=end,
                )
            )  # fmt: skip
        finish_run(bench.engine, run_id, "findings" if changes else "clean", {})


def _change(field: str, rule_id: str, first: int, last: int) -> dict[str, object]:
    return {
        "field": field, "change": "x", "classification": "breaking", "rule_id": rule_id, "expected": "integer",
        "observed": {"string": 2}, "count": 2, "first_seen_us": first, "last_seen_us": last,
        "sample_artifact_ids": ["a-1@v1", "a-2@v1"],
    }  # fmt: skip


def test_t3_rules_are_not_evaluated_without_a_drift_run_covering_the_window(bench: RuleBench) -> None:
    _cover(bench, T0, T0 + HOUR // 2, {})  # covers only half of the scanned hour

    result = bench.scan("T3.type_change", start_us=T0, end_us=T0 + HOUR)

    (outcome,) = result.outcomes
    assert outcome.status == "not_evaluated" and "no schema-drift run covers" in outcome.detail


def test_t3_rules_report_the_drift_changes_located_in_the_window(bench: RuleBench) -> None:
    changes = [
        _change("external_bytes", "T3.type_change", T0 + MINUTE, T0 + 2 * MINUTE),
        _change("duration_ms", "T3.field_removal", T0 + MINUTE, T0 + 2 * MINUTE),
        _change("length_ms", "T3.new_required_field", T0 + MINUTE, T0 + 2 * MINUTE),
    ]
    _cover(bench, T0, T0 + HOUR // 2, {"ai_avatar": changes})
    _cover(bench, T0 + HOUR // 2, T0 + HOUR, {})  # two runs together cover the scanned hour

    result = bench.scan("T3.type_change", "T3.field_removal", "T3.new_required_field", start_us=T0, end_us=T0 + HOUR)

    assert subjects(result, "T3.type_change") == ["ai_avatar/MediaArtifact:external_bytes"]
    assert subjects(result, "T3.field_removal") == ["ai_avatar/MediaArtifact:duration_ms"]
    assert subjects(result, "T3.new_required_field") == ["ai_avatar/MediaArtifact:length_ms"]


def test_t3_rules_stay_silent_on_changes_outside_the_window_and_on_clean_runs(bench: RuleBench) -> None:
    _cover(
        bench,
        T0,
        T0 + 2 * HOUR,
        {"ai_avatar": [_change("width", "T3.type_change", T0 + 90 * MINUTE, T0 + 95 * MINUTE)]},
    )

    result = bench.scan("T3.type_change", start_us=T0, end_us=T0 + HOUR)  # the change happened after this hour

    assert [o.status for o in result.outcomes] == ["evaluated"]
    assert subjects(result, "T3.type_change") == []
