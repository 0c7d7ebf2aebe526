from __future__ import annotations

import pytest

from bucket_governance.bucket.policy_approval import approve_policy, last_approval
from bucket_governance.bucket.store import BucketStore
from bucket_governance.policy import LoadedPolicy, Operation
from tests.unit.threats.conftest import MINUTE, T0, RuleBench, subjects

pytestmark = pytest.mark.unit
BYPASS = "T5.governance_bypass"
HOTFIX = "T5.emergency_hotfix"


def relaxed(policy: LoadedPolicy) -> LoadedPolicy:
    """The policy with gurukul's quota doubled in memory: what a hot-patched gateway would decide under."""
    products = [p.model_copy(update={"quota": p.quota * 2}) if p.id == "gurukul" else p for p in policy.policy.products]
    return LoadedPolicy(policy.policy.model_copy(update={"products": products}), policy.sources)


# -- T5.governance_bypass ----------------------------------------------------------------------------------


def test_governance_bypass_fires_on_an_executor_asking_outside_its_lane(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())
    bench.ask(Operation.UPDATE, "gurukul.executor", "gurukul", "lesson-1")

    result = bench.scan(BYPASS)

    assert subjects(result, BYPASS) == ["gurukul.executor"]
    (hit,) = result.outcomes[0].hits
    assert hit.evidence["lane"] == ["APPEND_AUDIT", "CREATE", "READ"] and hit.count == 1


def test_governance_bypass_silent_on_in_lane_executors_and_other_kinds_out_of_lane(bench: RuleBench) -> None:
    bench.store.create(bench.lesson(actor_id="gurukul.executor"))
    bench.ask(Operation.READ, "gurukul.executor", "gurukul", "lesson-1")  # in its lane
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")  # out of lane, but an AI (T6), not an executor

    assert subjects(bench.scan(BYPASS), BYPASS) == []


# -- T5.emergency_hotfix -----------------------------------------------------------------------------------


def test_emergency_hotfix_fires_on_requests_decided_under_an_unapproved_policy(bench: RuleBench) -> None:
    approve_policy(bench.engine, bench.policy, "gurukul.owner", now_us=T0)
    bench.clock.advance(60)
    bench.store.create(bench.lesson())  # under the approved policy
    patched = relaxed(bench.policy)
    hotfixed = BucketStore(bench.engine, patched, clock=bench.clock)
    for _ in range(3):
        bench.clock.advance(1)
        hotfixed.create(bench.lesson(artifact_id=f"lesson-hot-{bench.clock.now_us}"))

    result = bench.scan(HOTFIX)

    assert subjects(result, HOTFIX) == [patched.fingerprint]
    (hit,) = result.outcomes[0].hits
    assert hit.evidence["approved_fingerprint"] == bench.policy.fingerprint
    assert hit.evidence["entries_in_window"] == 3 and hit.count == 1  # three entries within one minute


def test_emergency_hotfix_silent_once_the_new_policy_is_approved(bench: RuleBench) -> None:
    approve_policy(bench.engine, bench.policy, "gurukul.owner", now_us=T0)
    patched = relaxed(bench.policy)
    bench.clock.advance(60)
    approve_policy(bench.engine, patched, "gurukul.owner", now_us=bench.clock.now_us)  # the change went through F4
    bench.clock.advance(1)
    BucketStore(bench.engine, patched, clock=bench.clock).create(bench.lesson())

    assert subjects(bench.scan(HOTFIX), HOTFIX) == []


def test_emergency_hotfix_judges_each_entry_against_the_approval_before_it(bench: RuleBench) -> None:
    patched = relaxed(bench.policy)
    approve_policy(bench.engine, patched, "gurukul.owner", now_us=T0 - 2 * MINUTE)  # before the window
    bench.store.create(bench.lesson())  # the original policy, no longer the approved one
    bench.clock.advance(60)
    approve_policy(bench.engine, bench.policy, "gurukul.owner", now_us=bench.clock.now_us)  # reverted and approved
    bench.clock.advance(1)
    bench.store.create(bench.lesson("lesson-2"))

    result = bench.scan(HOTFIX)

    assert subjects(result, HOTFIX) == [bench.policy.fingerprint]
    assert result.outcomes[0].hits[0].evidence["entries_in_window"] == 1


def test_emergency_hotfix_is_not_evaluated_without_any_approval(bench: RuleBench) -> None:
    bench.store.create(bench.lesson())

    (outcome,) = bench.scan(HOTFIX).outcomes

    assert outcome.status == "not_evaluated" and "policy approve" in outcome.detail


def test_approval_needs_an_owner_and_a_refusal_is_recorded(bench: RuleBench) -> None:
    refused = approve_policy(bench.engine, bench.policy, "gurukul.agent", now_us=T0)
    approved = approve_policy(bench.engine, bench.policy, "gurukul.owner", now_us=T0 + 1)
    again = approve_policy(bench.engine, bench.policy, "gurukul.owner", now_us=T0 + 2)

    with bench.engine.connect() as conn:
        last = last_approval(conn)
    assert (refused.refusal, refused.recorded, refused.seq) == ("approver_not_owner", False, 1)
    assert approved.recorded and approved.seq == 2 and not again.recorded
    assert last is not None and last.fingerprint == bench.policy.fingerprint
    assert (last.seq, last.actor_id) == (2, "gurukul.owner")
