from __future__ import annotations

import pytest
from sqlalchemy import insert

from bucket_governance.db.tables import artifact_versions
from bucket_governance.policy import Operation
from tests.unit.threats.conftest import RuleBench, subjects

pytestmark = pytest.mark.unit
WRONG = "T7.wrong_product_id"
COLLISION = "T7.namespace_collision"
LEAK = "T7.metadata_leakage"


def write_around_the_gate(bench: RuleBench, **row: object) -> None:
    """An attacker with database access inserts an artifact row, pointing it at a denied request's entry."""
    denied = bench.store.create(bench.lesson(artifact_id=f"decoy-{bench.clock.now_us}", owner_id="nobody"))
    base: dict[str, object] = {
        "artifact_id": "x", "version": 1, "product_id": "gurukul", "artifact_class": "ContentArtifact",
        "owner_id": "gurukul.owner", "created_by": "gurukul.engineer", "integration_id": "gurukul.gateway",
        "created_at_us": bench.clock.now_us, "content_hash": "0" * 64, "size_bytes": 0, "metadata": "{}",
        "provenance": "{}", "schema_version": "1", "ledger_seq": denied.seq,
    }  # fmt: skip
    with bench.engine.begin() as conn:
        conn.execute(insert(artifact_versions).values(**{**base, **row}))


# -- T7.wrong_product_id -----------------------------------------------------------------------------------


def test_wrong_product_id_fires_on_refused_and_stored_misplaced_artifacts(bench: RuleBench) -> None:
    bench.store.create(bench.lesson(actor_id="ai_avatar.service", integration_id="ai_avatar.gateway",
                                    product_id="ai_avatar", artifact_class="ConversationArtifact"))  # fmt: skip
    bench.store.create(bench.lesson(integration_id="workflow.gateway"))  # gurukul lesson via workflow's integration
    write_around_the_gate(bench, artifact_id="gurukul-smuggled", integration_id="enforcement.gateway")

    result = bench.scan(WRONG)

    assert subjects(result, WRONG) == ["ai_avatar.gateway", "enforcement.gateway", "workflow.gateway"]


def test_wrong_product_id_silent_on_writes_in_the_right_product_and_class(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.store.create(bench.lesson("lesson-2", owner_id="gurukul.engineer"))  # refused, but for its owner (T2)
    write_around_the_gate(bench, artifact_id="gurukul-smuggled")  # around the gate, yet in place (T5's business)

    assert subjects(bench.scan(WRONG), WRONG) == []


# -- T7.namespace_collision --------------------------------------------------------------------------------


def test_namespace_collision_fires_on_a_refused_claim_and_on_stored_rows(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.store.create(bench.lesson(actor_id="workflow.engineer", integration_id="workflow.gateway",
                                    product_id="workflow", artifact_class="ExecutionTrace",
                                    owner_id="workflow.owner", expected_version=1))  # fmt: skip
    write_around_the_gate(bench, artifact_id="lesson-2", product_id="enforcement", version=1,
                          artifact_class="DecisionArtifact", integration_id="enforcement.gateway")  # fmt: skip
    bench.store.create(bench.lesson("lesson-2"))  # gurukul writes an id enforcement's row already holds: refused
    write_around_the_gate(bench, artifact_id="lesson-2", version=2)  # and stores one anyway

    result = bench.scan(COLLISION)

    assert subjects(result, COLLISION) == ["lesson-1", "lesson-2", "lesson-2"]  # refused claims + stored rows


def test_namespace_collision_silent_on_new_versions_of_one_products_artifact(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.store.create(bench.lesson(expected_version=1, actor_id="gurukul.owner"))

    assert subjects(bench.scan(COLLISION), COLLISION) == []


# -- T7.metadata_leakage -----------------------------------------------------------------------------------


def test_metadata_leakage_fires_on_cross_product_reads_and_on_references_to_other_products(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("gurukul-lesson-1"))
    bench.ask(Operation.READ, "ai_assistant.service", "ai_assistant", "gurukul-lesson-1",
              integration="ai_assistant.gateway")  # fmt: skip
    bench.store.create(bench.lesson("workflow-run-1", actor_id="workflow.service", product_id="workflow",
                                    integration_id="workflow.gateway", artifact_class="ExecutionTrace",
                                    owner_id="workflow.owner",
                                    metadata={"steps": [{"input": {"ref": "gurukul-lesson-1"}}]}))  # fmt: skip

    result = bench.scan(LEAK)

    assert subjects(result, LEAK) == ["ai_assistant.service", "workflow-run-1"]


def test_metadata_leakage_silent_on_own_product_references_and_lookalike_ids(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("gurukul-lesson-1"))
    bench.ask(Operation.READ, "gurukul.service", "gurukul", "gurukul-lesson-1")
    bench.store.create(bench.lesson("gurukul-lesson-2", metadata={"previous": "gurukul-lesson-1"}))
    bench.store.create(bench.lesson("workflow-run-1", actor_id="workflow.service", product_id="workflow",
                                    integration_id="workflow.gateway", artifact_class="ExecutionTrace",
                                    owner_id="workflow.owner",
                                    metadata={"note": "gurukul-lesson-999"}))  # looks like an id, names nothing  # fmt: skip

    assert subjects(bench.scan(LEAK), LEAK) == []
