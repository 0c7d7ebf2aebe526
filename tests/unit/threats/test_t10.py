from __future__ import annotations

from typing import Any

import pytest

from tests.unit.threats.conftest import RuleBench, subjects

pytestmark = pytest.mark.unit
WHY, UNVERIFIED, TIMESTAMP = "T10.missing_why", "T10.unverified_metadata", "T10.timestamp_trust"
SECOND = 1_000_000


def _decision(bench: RuleBench, artifact_id: str, provenance: dict[str, Any]) -> None:
    bench.store.create(bench.lesson(artifact_id, actor_id="enforcement.service", integration_id="enforcement.gateway",
                                    product_id="enforcement", artifact_class="DecisionArtifact",
                                    provenance=provenance)).raise_if_denied()  # fmt: skip
    bench.clock.advance(1)


def _derived(bench: RuleBench, artifact_id: str, **provenance: Any) -> None:
    base = {"source": "editor", "intent": "derive", "parents": []}
    bench.store.create(bench.lesson(artifact_id, provenance={**base, **provenance})).raise_if_denied()
    bench.clock.advance(1)


def test_missing_why_fires_on_decisions_without_intent(bench: RuleBench) -> None:
    assert bench.policy.classes["DecisionArtifact"].requires_intent
    _decision(bench, "decision-none", {"source": "rules-engine", "parents": []})
    _decision(bench, "decision-blank", {"source": "rules-engine", "intent": "  ", "parents": []})

    assert subjects(bench.scan(WHY), WHY) == ["decision-blank", "decision-none"]


def test_missing_why_silent_on_stated_intent_and_classes_not_requiring_it(bench: RuleBench) -> None:
    _decision(bench, "decision-ok", {"source": "rules-engine", "intent": "uphold the appeal", "parents": []})
    _derived(bench, "lesson-no-why", intent=None)  # ContentArtifact does not require intent

    assert subjects(bench.scan(WHY), WHY) == []


def test_unverified_metadata_fires_on_parents_missing_from_the_bucket(bench: RuleBench) -> None:
    _derived(bench, "lesson-1")
    _derived(bench, "child-ghost", parents=[{"artifact_id": "ghost", "version": 1}])
    _derived(bench, "child-future-version", parents=[{"artifact_id": "lesson-1", "version": 2}])
    _derived(bench, "child-malformed", parents=["lesson-1"])

    result = bench.scan(UNVERIFIED)

    assert subjects(result, UNVERIFIED) == ["child-future-version", "child-ghost", "child-malformed"]


def test_unverified_metadata_silent_when_every_parent_exists(bench: RuleBench) -> None:
    _derived(bench, "lesson-1")
    _derived(bench, "child", parents=[{"artifact_id": "lesson-1", "version": 1}, {"artifact_id": "lesson-1"}])

    assert subjects(bench.scan(UNVERIFIED, TIMESTAMP), UNVERIFIED) == []


def test_timestamp_trust_fires_on_parent_after_child_and_provenance_clock_claims(bench: RuleBench) -> None:
    _derived(bench, "early-child", parents=[{"artifact_id": "late-parent", "version": 1}])
    _derived(bench, "late-parent")
    tolerance = bench.policy.limits.tolerances.claimed_time_seconds * SECOND
    _derived(bench, "claims-old-start", started_at_us=bench.clock() - tolerance - 10 * SECOND)
    _derived(bench, "claims-iso", generated_at="2020-01-01T00:00:00")
    _derived(bench, "parent-time-claim", parents=[{"artifact_id": "late-parent", "version": 1, "created_at_us": 1}])

    result = bench.scan(TIMESTAMP)

    assert subjects(result, TIMESTAMP) == ["claims-iso", "claims-old-start", "early-child", "parent-time-claim"]


def test_timestamp_trust_silent_on_ordered_parents_and_claims_within_tolerance(bench: RuleBench) -> None:
    _derived(bench, "parent")
    tolerance = bench.policy.limits.tolerances.claimed_time_seconds * SECOND
    _derived(bench, "child", parents=[{"artifact_id": "parent", "version": 1}],
             started_at_us=bench.clock() - tolerance + 10 * SECOND, note_at="not a time")  # fmt: skip
    # a client-claimed time far off in claimed_at_us is T2.backdated_timestamp's, not this rule's
    bench.store.create(bench.lesson("claimed-column", claimed_at_us=1)).raise_if_denied()

    assert subjects(bench.scan(TIMESTAMP), TIMESTAMP) == []
