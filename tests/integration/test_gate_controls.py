"""Throttle (F9) and policy pin (F4) on a real database: the next write is refused, others write on, lifting restores."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from tests.unit.test_gate_controls import relaxed

from bucket_governance.bucket.policy_approval import approve_initial_policy, approve_policy
from bucket_governance.bucket.requests import AccessRequest, CreateRequest, Outcome
from bucket_governance.bucket.state import PIN_SUBJECT
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db.tables import gate_controls, ledger_entries
from bucket_governance.errors import RequestDeniedError
from bucket_governance.incidents import containment, records, steps
from bucket_governance.incidents.actions import ControlSpec, lift_control, place_control
from bucket_governance.incidents.inputs import F4Form
from bucket_governance.policy import LoadedPolicy, Operation

pytestmark = pytest.mark.integration
SECOND_US = 1_000_000
CLASSES = {"gurukul": "ContentArtifact", "workflow": "ExecutionTrace"}


class Clock:
    """A server clock the test moves: the throttle's interval is measured on it, so no test waits."""

    def __init__(self) -> None:
        self.now_us = 1_800_000_000 * SECOND_US

    def __call__(self) -> int:
        return self.now_us


def create(store: BucketStore, product: str, artifact_id: str | None = None, expected: int | None = None) -> Outcome:
    return store.create(
        CreateRequest(actor_id=f"{product}.service", integration_id=f"{product}.gateway", product_id=product,
                      artifact_class=CLASSES[product], artifact_id=artifact_id, expected_version=expected,
                      payload=b"{}")
    )  # fmt: skip


def place(engine: Engine, policy: LoadedPolicy, spec: ControlSpec) -> None:
    place_control(engine, policy, spec, actor="ops.alice", reason="test")


def lift(engine: Engine, policy: LoadedPolicy, spec: ControlSpec) -> None:
    assert lift_control(engine, policy, spec, actor="ops.alice", reason="test") is not None


def denied_reasons(engine: Engine, seq: int) -> tuple[str, list[str]]:
    with engine.connect() as conn:
        row = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).one()
    return row.decision, json.loads(row.reasons)


def test_a_product_throttle_refuses_the_next_write_while_other_products_write_on(
    engine: Engine, policy: LoadedPolicy
) -> None:
    clock = Clock()
    store = BucketStore(engine, policy, clock=clock)
    spec = ControlSpec("throttle", "gurukul", "gurukul", {"writes_per_second": 1})
    place(engine, policy, spec)

    first, second = create(store, "gurukul"), create(store, "gurukul")

    assert first.allowed
    assert second.decision.code == "throttled" and second.decision.status == 429
    assert denied_reasons(engine, second.seq) == ("DENY", ["throttled"])
    assert create(store, "workflow").allowed and create(store, "workflow").allowed
    clock.now_us += SECOND_US  # the next interval admits one write again
    assert create(store, "gurukul").allowed and not create(store, "gurukul").allowed
    lift(engine, policy, spec)
    assert create(store, "gurukul").allowed and create(store, "gurukul").allowed


def test_an_artifact_throttle_limits_that_artifact_only(engine: Engine, policy: LoadedPolicy) -> None:
    store = BucketStore(engine, policy, clock=Clock())
    artifact = create(store, "gurukul").artifact_id
    assert artifact is not None
    place(engine, policy, ControlSpec("throttle", artifact, "gurukul", {"writes_per_second": 1}))

    again = create(store, "gurukul", artifact_id=artifact, expected=1)

    assert again.decision.code == "throttled"
    assert create(store, "gurukul").allowed  # a new artifact of the same product


def test_a_batch_counts_its_own_earlier_writes_against_the_rate(engine: Engine, policy: LoadedPolicy) -> None:
    store = BucketStore(engine, policy, clock=Clock())
    place(engine, policy, ControlSpec("throttle", "gurukul", "gurukul", {"writes_per_second": 2}))
    request = CreateRequest(actor_id="gurukul.service", integration_id="gurukul.gateway", product_id="gurukul",
                            artifact_class="ContentArtifact", payload=b"{}")  # fmt: skip

    outcomes = store.create_batch([request, request, request])

    assert [o.decision.code for o in outcomes] == ["batch_rejected", "batch_rejected", "throttled"]
    assert store.create_batch([request, request])[1].allowed


def test_a_throttle_placed_without_a_rate_stores_and_enforces_the_default(engine: Engine, policy: LoadedPolicy) -> None:
    store = BucketStore(engine, policy, clock=Clock())
    place(engine, policy, ControlSpec("throttle", "gurukul", "gurukul"))

    with engine.connect() as conn:
        stored = json.loads(conn.execute(select(gate_controls.c.parameters)).scalar_one())

    assert stored["writes_per_second"] == 1
    assert create(store, "gurukul").allowed and create(store, "gurukul").decision.code == "throttled"


def test_the_f4_pin_refuses_relaxed_policy_writes_until_lifted(engine: Engine, policy: LoadedPolicy) -> None:
    approve_initial_policy(engine, policy)
    loose = relaxed(policy)
    form = F4Form.model_validate(
        {"proposed_fingerprint": loose.fingerprint, "requested_by": "gurukul-core", "approver_id": "gurukul.owner"}
    )
    (spec,) = containment.plan(engine, policy, "F4", form)
    place(engine, policy, spec)
    strict_store, loose_store = BucketStore(engine, policy), BucketStore(engine, loose)

    refused = create(loose_store, "gurukul")

    assert spec.subject == PIN_SUBJECT and spec.parameters == {"fingerprint": policy.fingerprint,
                                                               "proposed": loose.fingerprint}  # fmt: skip
    assert refused.decision.code == "policy_pinned" and refused.decision.status == 423
    assert policy.fingerprint in refused.decision.message and loose.fingerprint in refused.decision.message
    assert denied_reasons(engine, refused.seq) == ("DENY", ["policy_pinned"])
    assert create(strict_store, "gurukul").allowed and create(strict_store, "workflow").allowed
    assert loose_store.submit(AccessRequest(Operation.READ, "gurukul.service", "gurukul.gateway", "gurukul")).allowed
    lift(engine, policy, spec)
    assert create(loose_store, "gurukul").allowed


def test_the_pin_follows_the_newest_policy_approval(engine: Engine, policy: LoadedPolicy) -> None:
    """Approving a policy while the pin stands moves what the gate enforces: the approved one, only it."""
    approve_initial_policy(engine, policy)
    loose = relaxed(policy)
    place(engine, policy, ControlSpec("pin_policy", PIN_SUBJECT, None, {"fingerprint": policy.fingerprint}))
    strict_store, loose_store = BucketStore(engine, policy), BucketStore(engine, loose)
    assert create(loose_store, "gurukul").decision.code == "policy_pinned"

    approve_policy(engine, loose, "gurukul.owner")

    assert create(loose_store, "gurukul").allowed
    assert create(strict_store, "gurukul").decision.code == "policy_pinned"


def _f4_decided(engine: Engine, policy: LoadedPolicy, option: str) -> str:
    loose = relaxed(policy)
    submitted = {"proposed_fingerprint": loose.fingerprint, "requested_by": "gurukul-core",
                 "approver_id": "gurukul.owner", "triggered_by": "ops.alice"}  # fmt: skip
    incident_id = str(steps.start(engine, policy, "F4", submitted)["incident_id"])
    steps.contain(engine, policy, incident_id)
    steps.record_decision(engine, policy, incident_id, option, by="airflow-user:strategic.advisor")
    return incident_id


def test_revert_keeps_the_pin_while_the_relaxed_policy_is_still_in_force(engine: Engine, policy: LoadedPolicy) -> None:
    approve_initial_policy(engine, policy)
    loose = relaxed(policy)
    incident_id = _f4_decided(engine, policy, "Revert")

    with pytest.raises(RequestDeniedError) as refused:
        steps.recover(engine, loose, incident_id, actor="airflow:bucket_playbook_f4")
    assert refused.value.code == "policy_not_reverted" and loose.fingerprint in refused.value.message
    assert create(BucketStore(engine, loose), "gurukul").decision.code == "policy_pinned"
    assert _timeline(engine, incident_id)[-1] == "recovery_refused"

    lifted = steps.recover(engine, policy, incident_id, actor="airflow:bucket_playbook_f4")  # after the revert
    assert lifted[0] == {"action": "revert_confirmed", "fingerprint": policy.fingerprint}
    assert [(step["action"], step["kind"]) for step in lifted[1:]] == [("lift_control", "pin_policy")]


def test_a_refused_policy_approval_keeps_the_pin(engine: Engine, policy: LoadedPolicy) -> None:
    """'Approve new policy' while the proposed policy is not deployed: nothing approved, nothing lifted."""
    approve_initial_policy(engine, policy)
    incident_id = _f4_decided(engine, policy, "Approve new policy")

    with pytest.raises(RequestDeniedError, match="not the policy in force"):
        steps.recover(engine, policy, incident_id, actor="airflow:bucket_playbook_f4")

    assert create(BucketStore(engine, relaxed(policy)), "gurukul").decision.code == "policy_pinned"


def _timeline(engine: Engine, incident_id: str) -> list[str]:
    with engine.connect() as conn:
        return [event["step"] for event in records.get_incident(conn, incident_id)["timeline"]]
