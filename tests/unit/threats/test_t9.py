from __future__ import annotations

import pytest
from sqlalchemy import insert

from bucket_governance.bucket.requests import AccessRequest
from bucket_governance.db.tables import artifact_versions
from bucket_governance.demo.injections_t9 import place_legal_hold
from bucket_governance.policy import Operation
from tests.unit.threats.conftest import RuleBench, subjects

pytestmark = pytest.mark.unit
DISPUTE, AMBIGUOUS, RETENTION = "T9.deletion_dispute", "T9.ambiguous_owner", "T9.conflicting_retention"


def _hold(bench: RuleBench, subject: str) -> None:
    place_legal_hold(bench.engine, bench.policy, subject=subject, product_id="gurukul", actor_id="gurukul.owner",
                     at_us=bench.clock(), reason="litigation")  # fmt: skip
    bench.clock.advance(1)


def _remove(bench: RuleBench, operation: Operation, actor: str, artifact_id: str, **details: object) -> None:
    bench.store.submit(AccessRequest(operation, actor, "gurukul.gateway", "gurukul", artifact_id, details=details))
    bench.clock.advance(1)


def _stored_around_the_gate(bench: RuleBench, artifact_id: str, owner_id: str) -> None:
    """A version row inserted directly (a privileged writer skipping the gate), backed by some ledger entry."""
    seq = bench.store.submit(
        AccessRequest(Operation.APPEND_AUDIT, "gurukul.engineer", "gurukul.gateway", "gurukul")
    ).seq
    row = dict(artifact_id=artifact_id, version=1, product_id="gurukul", artifact_class="ContentArtifact",
               owner_id=owner_id, created_by="gurukul.engineer", integration_id="gurukul.gateway",
               created_at_us=bench.clock(), content_hash="0" * 64, size_bytes=2, metadata="{}",
               provenance='{"intent":"x","parents":[],"source":"y"}', schema_version="1", ledger_seq=seq)  # fmt: skip
    with bench.engine.begin() as conn:
        conn.execute(insert(artifact_versions).values(**row))
    bench.clock.advance(1)


def test_deletion_dispute_fires_on_removal_requests_by_non_owners(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("lesson-1", owner_id="gurukul.owner"))
    _remove(bench, Operation.ERASURE, "gurukul.engineer", "lesson-1")
    _remove(bench, Operation.DELETE, "gurukul.executor", "lesson-1")

    assert subjects(bench.scan(DISPUTE), DISPUTE) == ["gurukul.engineer", "gurukul.executor"]


def test_deletion_dispute_silent_when_the_owner_asks(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("lesson-1", owner_id="gurukul.owner"))
    _remove(bench, Operation.DELETE, "gurukul.owner", "lesson-1")  # refused (immutability), but not disputed
    _remove(bench, Operation.ERASURE, "gurukul.engineer", "no-such-lesson")  # no owner to dispute with

    assert subjects(bench.scan(DISPUTE), DISPUTE) == []


def test_ambiguous_owner_fires_on_unknown_owner_refused_and_stored(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("lesson-refused", owner_id="gurukul.board"))
    _stored_around_the_gate(bench, "lesson-blank", owner_id="")

    assert subjects(bench.scan(AMBIGUOUS), AMBIGUOUS) == ["lesson-blank", "lesson-refused"]


def test_ambiguous_owner_silent_on_real_actors_even_when_not_owners(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("lesson-ok", owner_id="gurukul.owner"))
    bench.store.create(bench.lesson("lesson-forged", owner_id="gurukul.engineer"))  # T2.forged_owner's case
    _stored_around_the_gate(bench, "lesson-forged-stored", owner_id="workflow.owner")

    result = bench.scan(AMBIGUOUS, "T2.forged_owner")

    assert subjects(result, AMBIGUOUS) == []


def test_conflicting_retention_fires_on_removal_under_hold_and_short_stated_retention(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("lesson-held", owner_id="gurukul.owner"))
    bench.store.create(bench.lesson("lesson-short", metadata={"title": "t", "retention_days": 30}))
    _hold(bench, "lesson-held")
    _remove(bench, Operation.DELETE, "gurukul.owner", "lesson-held", retention_days=30)
    _hold(bench, "lesson-long")
    bench.store.create(bench.lesson("lesson-long", metadata={"title": "t", "retention_days": 3000}))

    result = bench.scan(RETENTION)

    assert subjects(result, RETENTION) == ["lesson-held", "lesson-long", "lesson-short"]
    evidence = {h.subject: h.evidence for o in result.outcomes for h in o.hits}
    assert evidence["lesson-long"]["stored"][0]["conflicts"] == ["ends_during_legal_hold"]
    assert evidence["lesson-short"]["stored"][0]["conflicts"] == ["shorter_than_audit_retention"]


def test_conflicting_retention_silent_without_hold_or_on_non_owner_or_long_retention(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("lesson-free", owner_id="gurukul.owner"))
    bench.store.create(bench.lesson("lesson-long", metadata={"title": "t", "retention_days": 2555}))
    bench.store.create(bench.lesson("lesson-held", owner_id="gurukul.owner"))
    _remove(bench, Operation.DELETE, "gurukul.owner", "lesson-free", retention_days=30)  # no hold: no conflict
    _hold(bench, "lesson-held")
    _remove(bench, Operation.ERASURE, "gurukul.engineer", "lesson-held")  # a dispute (T9.deletion_dispute)

    assert subjects(bench.scan(RETENTION), RETENTION) == []
