from __future__ import annotations

import pytest

from bucket_governance.policy import Operation
from tests.unit.threats.conftest import RuleBench, subjects

pytestmark = pytest.mark.unit
RULE = "T2.invalid_integration"


def test_fires_on_writes_through_unapproved_and_revoked_integrations(bench: RuleBench) -> None:
    bench.store.create(bench.lesson(actor_id="workflow.engineer", product_id="workflow", artifact_class="ExecutionTrace",
                                    integration_id="workflow.legacy-sync"))  # fmt: skip
    bench.ask(Operation.READ, "ai_avatar.engineer", "ai_avatar", integration="ai_avatar.old-uploader")

    assert subjects(bench.scan(RULE), RULE) == ["ai_avatar.old-uploader", "workflow.legacy-sync"]


def test_silent_on_approved_integrations(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.ask(Operation.READ, "gurukul.engineer", "gurukul", "lesson-1")

    assert subjects(bench.scan(RULE), RULE) == []
