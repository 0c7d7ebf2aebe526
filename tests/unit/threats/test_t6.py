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
