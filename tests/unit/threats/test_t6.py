from __future__ import annotations

import pytest

from bucket_governance.checks.threats.context import Hit
from bucket_governance.policy import Operation
from tests.unit.threats.conftest import MINUTE, T0, RuleBench, subjects

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


# -- T6.pressure_pattern, rising form (pressure_trend_slices = 4, _min_last = 5, _growth = 2.0) -------------------

TREND_WINDOW = 40 * MINUTE  # four 10-minute slices
AGENTS = (("ai_assistant", "ConversationArtifact"), ("workflow", "ExecutionTrace"), ("enforcement", "DecisionArtifact"))


def _push(bench: RuleBench, counts: list[int], agents: int = 1) -> None:
    """``counts[i]`` refused claims on lesson-1 in the i-th slice of [T0, T0 + 40 min), taken in turn by ``agents``."""
    bench.store.create(bench.lesson())
    turn = 0
    for i, refusals in enumerate(counts):
        bench.clock.now_us = T0 + i * TREND_WINDOW // len(counts) + MINUTE
        for _ in range(refusals):
            _claim(bench, *AGENTS[turn % agents], "lesson-1")
            turn += 1
            bench.clock.advance(5)


def _pressure_hits(bench: RuleBench) -> list[Hit]:
    result = bench.scan("T6.pressure_pattern", start_us=T0, end_us=T0 + TREND_WINDOW)
    return [h for o in result.outcomes if o.rule_id == "T6.pressure_pattern" for h in o.hits]


def test_pressure_pattern_fires_on_one_ai_actor_whose_refusals_rise_slice_after_slice(bench: RuleBench) -> None:
    _push(bench, [2, 3, 3, 5])

    (hit,) = _pressure_hits(bench)

    assert (hit.subject, hit.product_id, hit.count) == ("lesson-1", "gurukul", 13)
    assert hit.evidence["forms"] == ["rising_trend"]  # one actor: the many-actors form alone would stay silent
    assert hit.evidence["ai_actors"] == ["ai_assistant.agent"]
    assert hit.evidence["slice_counts"] == [2, 3, 3, 5]


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param([5, 5, 5, 5], id="flat"),
        pytest.param([1, 2, 3, 4], id="rising-but-last-slice-under-the-minimum"),
        pytest.param([2, 0, 4, 6], id="gap-slice"),
        pytest.param([0, 2, 4, 6], id="empty-first-slice"),
        pytest.param([2, 4, 3, 6], id="one-fall"),
        pytest.param([3, 4, 5, 5], id="last-under-twice-the-first"),
    ],
)
def test_pressure_pattern_silent_on_refusals_that_do_not_rise_steadily(bench: RuleBench, counts: list[int]) -> None:
    _push(bench, counts)

    assert _pressure_hits(bench) == []


def test_pressure_pattern_gives_one_hit_when_a_target_shows_both_forms(bench: RuleBench) -> None:
    _push(bench, [2, 3, 4, 6], agents=3)

    (hit,) = _pressure_hits(bench)

    assert hit.subject == "lesson-1" and hit.count == 15
    assert hit.evidence["forms"] == ["many_actors", "rising_trend"]
    assert hit.evidence["ai_actors"] == ["ai_assistant.agent", "enforcement.agent", "workflow.agent"]
    assert hit.evidence["slice_counts"] == [2, 3, 4, 6]
