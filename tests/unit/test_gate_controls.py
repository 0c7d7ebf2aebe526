"""The gate's throttle (F9) and policy pin (F4): each refusal on a crafted state, and its near miss allowed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bucket_governance.bucket.gate import STATUS_BY_CODE, GateRequest, GateState, Throttle, decide
from bucket_governance.policy import LoadedPolicy, Operation
from tests.unit.test_gate import GOOD_CREATE as CREATE

pytestmark = pytest.mark.unit

READ = GateRequest(Operation.READ, "gurukul.engineer", "gurukul.gateway", "gurukul")
OTHER_PRODUCT = replace(
    CREATE,
    actor_id="workflow.engineer",
    integration_id="workflow.gateway",
    product_id="workflow",
    artifact_class="ExecutionTrace",
    artifact_id="trace-1",
    owner_id="workflow.owner",
)


def relaxed(policy: LoadedPolicy) -> LoadedPolicy:
    """The same policy with a larger metadata limit: another fingerprint, as a team relaxing boundaries makes."""
    limits = policy.policy.limits.model_copy(update={"metadata_size": policy.limits.metadata_size * 2})
    return LoadedPolicy(policy.policy.model_copy(update={"limits": limits}), (Path("relaxed.yaml"),))


def throttled(subject: str, rate: int, recent: int) -> GateState:
    return GateState(throttles=(Throttle(subject, rate, recent),))


@pytest.mark.parametrize("subject", ["gurukul", "lesson-1"])
def test_a_throttled_scope_refuses_the_write_beyond_its_rate(policy: LoadedPolicy, subject: str) -> None:
    decision = decide(CREATE, policy, throttled(subject, rate=2, recent=2))

    assert decision.code == "throttled" and decision.status == 429
    assert f"{subject!r} are throttled to 2 per second" in decision.message


@pytest.mark.parametrize(
    ("request_", "state"),
    [
        (CREATE, throttled("gurukul", rate=2, recent=1)),  # still under the rate
        (OTHER_PRODUCT, throttled("gurukul", rate=1, recent=5)),  # another product writes on
        (replace(CREATE, artifact_id="lesson-2"), throttled("lesson-1", rate=1, recent=5)),  # another artifact
        (READ, throttled("gurukul", rate=1, recent=5)),  # reads are not throttled
    ],
)
def test_near_misses_of_the_throttle_are_allowed(policy: LoadedPolicy, request_: GateRequest, state: GateState) -> None:
    assert decide(request_, policy, state).allowed


def test_a_pin_refuses_writes_under_another_policy_naming_both_fingerprints(policy: LoadedPolicy) -> None:
    loose = relaxed(policy)

    decision = decide(CREATE, loose, GateState(pinned_fingerprint=policy.fingerprint))

    assert loose.fingerprint != policy.fingerprint
    assert decision.code == "policy_pinned" and decision.status == STATUS_BY_CODE["policy_pinned"] == 423
    assert policy.fingerprint in decision.message and loose.fingerprint in decision.message


@pytest.mark.parametrize(
    ("request_", "pinned_is_relaxed", "state_pinned"),
    [
        (CREATE, False, True),  # writes under the pinned policy itself pass
        (READ, True, True),  # reads under another policy are not writes
        (CREATE, True, False),  # no pin: the policy in force decides
    ],
)
def test_near_misses_of_the_pin_are_allowed(
    policy: LoadedPolicy, request_: GateRequest, pinned_is_relaxed: bool, state_pinned: bool
) -> None:
    in_force = relaxed(policy) if pinned_is_relaxed else policy
    state = GateState(pinned_fingerprint=policy.fingerprint if state_pinned else None)

    assert decide(request_, in_force, state).allowed


def test_a_pin_without_a_fingerprint_fails_closed(policy: LoadedPolicy) -> None:
    assert decide(CREATE, policy, GateState(pinned_fingerprint="")).code == "policy_pinned"
