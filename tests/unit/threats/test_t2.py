from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from bucket_governance.db.tables import artifact_versions
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


# -- T2.forged_owner and T2.backdated_timestamp --------------------------------------------------------------

SECOND = 1_000_000


def store_around_the_gate(bench: RuleBench, source_id: str, ledger_seq: int, **changes: object) -> None:
    """Copy a stored version under a new key, as a privileged writer bypassing the gate would."""
    av = artifact_versions.c
    with bench.engine.begin() as conn:
        row = dict(conn.execute(select(artifact_versions).where(av.artifact_id == source_id)).one()._mapping)
        conn.execute(insert(artifact_versions).values({**row, "ledger_seq": ledger_seq, **changes}))


def test_forged_owner_fires_on_a_refused_owner_and_one_stored_around_the_gate(bench: RuleBench) -> None:
    refused = bench.store.create(bench.lesson("forged", actor_id="gurukul.executor", owner_id="ai_avatar.owner"))
    assert refused.decision.code == "owner_not_of_product"
    bench.store.create(bench.lesson()).raise_if_denied()
    spare = bench.store.create(bench.lesson(actor_id="gurukul.agent", product_id="nowhere"))  # a seq to point at
    store_around_the_gate(bench, "lesson-1", spare.seq, artifact_id="lesson-x", owner_id="workflow.owner",
                          created_by="gurukul.service")  # fmt: skip

    result = bench.scan("T2.forged_owner")

    assert subjects(result, "T2.forged_owner") == ["gurukul.executor", "gurukul.service"]


def test_forged_owner_silent_on_the_products_own_owner(bench: RuleBench) -> None:
    bench.store.create(bench.lesson(owner_id="gurukul.owner")).raise_if_denied()
    bench.store.create(bench.lesson("lesson-2")).raise_if_denied()  # no owner given: the product's first owner
    unknown = bench.store.create(bench.lesson("lesson-3", owner_id="gurukul.board"))  # no such actor: T9's case
    assert unknown.decision.code == "owner_not_of_product"

    assert subjects(bench.scan("T2.forged_owner"), "T2.forged_owner") == []


def test_backdated_timestamp_fires_beyond_the_tolerance_stored_or_refused(bench: RuleBench) -> None:
    now = bench.clock.now_us
    bench.store.create(bench.lesson("old", claimed_at_us=now - 301 * SECOND)).raise_if_denied()
    refused = bench.store.create(
        bench.lesson(
            "future", actor_id="gurukul.owner", artifact_class="MediaArtifact", claimed_at_us=now + 3600 * SECOND
        )
    )
    assert not refused.allowed

    result = bench.scan("T2.backdated_timestamp")

    assert subjects(result, "T2.backdated_timestamp") == ["gurukul.engineer", "gurukul.owner"]
    skews = {h.subject: h.evidence for h in result.outcomes[0].hits}
    assert skews["gurukul.engineer"]["stored"][0]["skew_seconds"] == -301
    assert skews["gurukul.owner"]["refused"][0]["skew_seconds"] == 3600


def test_backdated_timestamp_silent_within_the_tolerance_and_without_a_claim(bench: RuleBench) -> None:
    now = bench.clock.now_us
    bench.store.create(bench.lesson("before", claimed_at_us=now - 299 * SECOND)).raise_if_denied()
    bench.store.create(bench.lesson("after", claimed_at_us=now + 299 * SECOND)).raise_if_denied()
    bench.store.create(bench.lesson("unclaimed")).raise_if_denied()
    bench.store.create(bench.lesson("denied", artifact_class="MediaArtifact", claimed_at_us=now - 60 * SECOND))

    assert subjects(bench.scan("T2.backdated_timestamp"), "T2.backdated_timestamp") == []
