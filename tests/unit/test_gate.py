"""The gate, one reason code at a time: a crafted request it must refuse, and its near miss it must allow."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bucket_governance.bucket.gate import ArtifactState, GateRequest, GateState, decide
from bucket_governance.policy import LoadedPolicy, Operation

pytestmark = pytest.mark.unit

GOOD_CREATE = GateRequest(
    operation=Operation.CREATE,
    actor_id="gurukul.engineer",
    integration_id="gurukul.gateway",
    product_id="gurukul",
    artifact_class="ContentArtifact",
    artifact_id="lesson-1",
    owner_id="gurukul.owner",
    payload_size=1_000,
    metadata_size=200,
    metadata_depth=2,
)
EXISTING = ArtifactState(product_id="gurukul", latest_version=3, owner_id="gurukul.owner")
MEDIA = replace(
    GOOD_CREATE,
    actor_id="ai_avatar.engineer",
    integration_id="ai_avatar.gateway",
    product_id="ai_avatar",
    artifact_class="MediaArtifact",
    owner_id="ai_avatar.owner",
    payload_size=40,
    reference_url="https://media.example/a.mp4",
)


def read(actor: str, product: str = "gurukul", integration: str = "gurukul.gateway") -> GateRequest:
    return GateRequest(Operation.READ, actor, integration, product, artifact_id="lesson-1")


# (reason code, denied request, state, near-miss request, near-miss state)
CASES = [
    ("actor_unknown", replace(GOOD_CREATE, actor_id="mallory"), GateState(), GOOD_CREATE, GateState()),
    ("integration_unknown", replace(GOOD_CREATE, integration_id="nope"), GateState(), GOOD_CREATE, GateState()),
    (
        "integration_not_approved",
        replace(
            GOOD_CREATE,
            actor_id="workflow.engineer",
            integration_id="workflow.legacy-sync",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            owner_id="workflow.owner",
        ),
        GateState(),
        replace(
            GOOD_CREATE,
            actor_id="workflow.engineer",
            integration_id="workflow.gateway",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            owner_id="workflow.owner",
        ),
        GateState(),
    ),
    ("integration_revoked", replace(MEDIA, integration_id="ai_avatar.old-uploader"), GateState(), MEDIA, GateState()),
    (
        "integration_product_mismatch",
        replace(GOOD_CREATE, integration_id="workflow.gateway"),
        GateState(),
        GOOD_CREATE,
        GateState(),
    ),
    (
        "actor_lane_violation",
        replace(GOOD_CREATE, operation=Operation.UPDATE, actor_id="gurukul.agent"),
        GateState(),
        replace(GOOD_CREATE, actor_id="gurukul.agent"),
        GateState(),
    ),
    (
        "actor_lane_violation",
        read("gurukul.agent"),
        GateState(artifact=EXISTING),
        read("gurukul.executor"),
        GateState(artifact=EXISTING),
    ),
    (
        "actor_lane_violation",
        replace(GOOD_CREATE, actor_id="auditor.global"),
        GateState(),
        read("auditor.global"),
        GateState(artifact=EXISTING),
    ),
    (
        "cross_product_access",
        read("ai_assistant.engineer", integration="gurukul.gateway"),
        GateState(artifact=EXISTING),
        read("gurukul.engineer"),
        GateState(artifact=EXISTING),
    ),
    (
        "cross_product_access",
        read("auditor.enforcement"),
        GateState(artifact=EXISTING),
        read("auditor.global"),
        GateState(artifact=EXISTING),
    ),
    (
        "namespace_collision",
        GOOD_CREATE,
        GateState(artifact=replace(EXISTING, product_id="workflow")),
        replace(GOOD_CREATE, expected_version=3),
        GateState(artifact=EXISTING),
    ),
    (
        "in_place_update_refused",
        replace(GOOD_CREATE, operation=Operation.UPDATE),
        GateState(),
        GOOD_CREATE,
        GateState(),
    ),
    ("delete_refused", replace(GOOD_CREATE, operation=Operation.DELETE), GateState(), GOOD_CREATE, GateState()),
    (
        "schema_change_requires_approval",
        replace(GOOD_CREATE, operation=Operation.SCHEMA_CHANGE),
        GateState(),
        GOOD_CREATE,
        GateState(),
    ),
    (
        "actor_frozen",
        GOOD_CREATE,
        GateState(frozen_actors=frozenset({"gurukul.engineer"})),
        GOOD_CREATE,
        GateState(frozen_actors=frozenset({"gurukul.executor"})),
    ),
    (
        "product_halted",
        GOOD_CREATE,
        GateState(halted_products=frozenset({"gurukul"})),
        read("gurukul.engineer"),
        GateState(halted_products=frozenset({"gurukul"}), artifact=EXISTING),
    ),
    (
        "artifact_quarantined",
        read("gurukul.engineer"),
        GateState(artifact=EXISTING, quarantined_artifacts=frozenset({"lesson-1"})),
        read("gurukul.engineer"),
        GateState(artifact=EXISTING, quarantined_artifacts=frozenset({"lesson-2"})),
    ),
    (
        "artifact_not_found",
        read("gurukul.engineer"),
        GateState(),
        read("gurukul.engineer"),
        GateState(artifact=EXISTING),
    ),
    ("class_unknown", replace(GOOD_CREATE, artifact_class="Whatever"), GateState(), GOOD_CREATE, GateState()),
    (
        "class_not_allowed",
        replace(GOOD_CREATE, artifact_class="ConversationArtifact"),
        GateState(),
        GOOD_CREATE,
        GateState(),
    ),
    (
        "inline_media_rejected",
        replace(MEDIA, reference_url=None, payload_size=5_000_000),
        GateState(),
        MEDIA,
        GateState(),
    ),
    (
        "reference_not_allowed",
        replace(GOOD_CREATE, reference_url="https://x.example/y"),
        GateState(),
        GOOD_CREATE,
        GateState(),
    ),
    (
        "payload_too_large",
        replace(GOOD_CREATE, payload_size=16 * 2**20 + 1),
        GateState(),
        replace(GOOD_CREATE, payload_size=16 * 2**20),
        GateState(),
    ),
    (
        "metadata_too_large",
        replace(GOOD_CREATE, metadata_size=16 * 2**10 + 1),
        GateState(),
        replace(GOOD_CREATE, metadata_size=16 * 2**10),
        GateState(),
    ),
    (
        "metadata_too_deep",
        replace(GOOD_CREATE, metadata_depth=9),
        GateState(),
        replace(GOOD_CREATE, metadata_depth=8),
        GateState(),
    ),
    ("owner_not_of_product", replace(GOOD_CREATE, owner_id="workflow.owner"), GateState(), GOOD_CREATE, GateState()),
    (
        "quota_exceeded",
        GOOD_CREATE,
        GateState(product_bytes=200 * 10**9 - 999),
        GOOD_CREATE,
        GateState(product_bytes=200 * 10**9 - 1000),
    ),
    (
        "artifact_limit_reached",
        GOOD_CREATE,
        GateState(product_versions=10_000_000),
        GOOD_CREATE,
        GateState(product_versions=9_999_999),
    ),
    (
        "expected_version_required",
        GOOD_CREATE,
        GateState(artifact=EXISTING),
        replace(GOOD_CREATE, expected_version=3),
        GateState(artifact=EXISTING),
    ),
    (
        "version_conflict",
        replace(GOOD_CREATE, expected_version=2),
        GateState(artifact=EXISTING),
        replace(GOOD_CREATE, expected_version=3),
        GateState(artifact=EXISTING),
    ),
    ("version_conflict", replace(GOOD_CREATE, expected_version=1), GateState(), GOOD_CREATE, GateState()),
]


@pytest.mark.parametrize(("code", "denied", "state", "near_miss", "near_state"), CASES, ids=[c[0] for c in CASES])
def test_reason_fires_on_crafted_case_and_not_on_near_miss(
    policy: LoadedPolicy,
    code: str,
    denied: GateRequest,
    state: GateState,
    near_miss: GateRequest,
    near_state: GateState,
) -> None:
    decision = decide(denied, policy, state)
    assert not decision.allowed
    assert code in [r.code for r in decision.reasons]

    allowed = decide(near_miss, policy, near_state)
    assert allowed.allowed, allowed.message


def test_legal_hold_and_non_owner_are_reasons_for_erasure(policy: LoadedPolicy) -> None:
    erase = replace(GOOD_CREATE, operation=Operation.ERASURE)
    state = GateState(artifact=EXISTING, held_subjects=frozenset({"lesson-1"}))

    codes = [r.code for r in decide(erase, policy, state).reasons]

    assert codes == ["erasure_refused", "not_artifact_owner", "legal_hold"]


def test_decision_codes_map_to_http_statuses(policy: LoadedPolicy) -> None:
    conflict = decide(replace(GOOD_CREATE, expected_version=2), policy, GateState(artifact=EXISTING))
    too_big = decide(replace(GOOD_CREATE, payload_size=2**30), policy, GateState())
    lane = decide(replace(GOOD_CREATE, operation=Operation.UPDATE, actor_id="gurukul.agent"), policy, GateState())

    assert (conflict.status, too_big.status, lane.status) == (409, 413, 403)
    assert decide(GOOD_CREATE, policy, GateState()).status == 200


def test_ai_actor_may_append_audit_and_create_only(policy: LoadedPolicy) -> None:
    allowed = {
        op
        for op in Operation
        if decide(
            replace(GOOD_CREATE, operation=op, actor_id="gurukul.agent"), policy, GateState(artifact=None)
        ).allowed
    }
    assert allowed == {Operation.CREATE, Operation.APPEND_AUDIT}
