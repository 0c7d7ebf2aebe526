from __future__ import annotations

import pytest

from bucket_governance.policy import Operation
from tests.unit.threats.conftest import RuleBench, subjects

pytestmark = pytest.mark.unit


def test_automated_request_fires_on_ai_update_and_cross_product_read(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")
    bench.ask(Operation.READ, "ai_assistant.agent", "gurukul", "lesson-1", integration="ai_assistant.gateway")

    result = bench.scan("T6.automated_request")

    assert subjects(result, "T6.automated_request") == ["ai_assistant.agent", "gurukul.agent"]


def test_automated_request_silent_on_ai_creates_and_human_updates(bench: RuleBench) -> None:
    bench.store.create(bench.lesson(actor_id="gurukul.agent"))
    bench.ask(Operation.APPEND_AUDIT, "gurukul.agent", "gurukul")
    bench.ask(Operation.UPDATE, "gurukul.engineer", "gurukul", "lesson-1")  # a human, not an AI: T6 does not apply

    assert subjects(bench.scan("T6.automated_request"), "T6.automated_request") == []


# -- T6.repeated_escalation (threshold: repeated_escalation_requests = 3 in include/policy/threats.yaml) ---------


def test_repeated_escalation_fires_on_one_ai_actor_reaching_the_threshold(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    for operation in (Operation.UPDATE, Operation.SCHEMA_CHANGE, Operation.DELETE):
        bench.ask(operation, "gurukul.agent", "gurukul", "lesson-1")

    result = bench.scan("T6.repeated_escalation")

    assert subjects(result, "T6.repeated_escalation") == ["gurukul.agent"]
    assert result.outcomes[0].hits[0].count == 3


def test_repeated_escalation_silent_just_under_the_threshold_and_on_spread_actors(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")
    bench.ask(Operation.SCHEMA_CHANGE, "gurukul.agent", "gurukul")
    bench.ask(Operation.UPDATE, "workflow.agent", "workflow")  # another actor: does not add up
    bench.ask(Operation.UPDATE, "gurukul.engineer", "gurukul", "lesson-1")  # a human: not an AI escalation

    assert subjects(bench.scan("T6.repeated_escalation"), "T6.repeated_escalation") == []


# -- T6.pressure_pattern (threshold: pressure_min_actors = 3) ---------------------------------------------------


def _claim(bench: RuleBench, product: str, artifact_class: str, artifact_id: str) -> None:
    """An AI agent writes its own product's artifact under an id another product already holds: refused."""
    bench.store.create(bench.lesson(artifact_id=artifact_id, actor_id=f"{product}.agent", product_id=product,
                                    integration_id=f"{product}.gateway", artifact_class=artifact_class,
                                    owner_id=f"{product}.owner", expected_version=1))  # fmt: skip


def test_pressure_pattern_fires_when_three_ai_actors_are_refused_on_one_target(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    _claim(bench, "ai_assistant", "ConversationArtifact", "lesson-1")
    _claim(bench, "workflow", "ExecutionTrace", "lesson-1")
    _claim(bench, "enforcement", "DecisionArtifact", "lesson-1")

    result = bench.scan("T6.pressure_pattern", "T6.automated_request")

    assert subjects(result, "T6.pressure_pattern") == ["lesson-1"]
    (hit,) = [h for o in result.outcomes if o.rule_id == "T6.pressure_pattern" for h in o.hits]
    assert hit.product_id == "gurukul" and hit.evidence["ai_actors"] == [
        "ai_assistant.agent", "enforcement.agent", "workflow.agent"]  # fmt: skip
    assert subjects(result, "T6.automated_request") == []  # in-lane CREATEs: pressure, not escalation


def test_pressure_pattern_silent_with_two_ai_actors_or_with_other_targets(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.store.create(bench.lesson("lesson-2"))
    _claim(bench, "ai_assistant", "ConversationArtifact", "lesson-1")
    _claim(bench, "workflow", "ExecutionTrace", "lesson-1")
    _claim(bench, "enforcement", "DecisionArtifact", "lesson-2")  # a third actor, but another target
    _claim(bench, "ai_avatar", "MediaArtifact", "lesson-2")

    assert subjects(bench.scan("T6.pressure_pattern"), "T6.pressure_pattern") == []
