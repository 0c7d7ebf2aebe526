"""Cross-product incidents (T7): an artifact of the wrong class for its product, and one id claimed twice.

``T7.metadata_leakage`` is injected by ``cross_product_read`` in ``demo/injections.py``.
"""

from __future__ import annotations

import json

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import _latest_or_setup, injection


@injection(
    "avatar_stores_conversation",
    rule_id="T7.wrong_product_id",
    description="the ai_avatar service tries to store a chat transcript (ConversationArtifact) in ai_avatar",
    day_fraction=0.71,
    hour_utc=6,
    expected_reasons=("class_not_allowed",),
)
def _avatar_stores_conversation(ctx: InjectionContext) -> InjectionTarget:
    transcript = {"conversation_id": "avatar-chat-0001", "text": "hello from the avatar"}
    ctx.create(
        CreateRequest(
            actor_id="ai_avatar.service",
            integration_id="ai_avatar.gateway",
            product_id="ai_avatar",
            artifact_class="ConversationArtifact",
            owner_id="ai_avatar.owner",
            artifact_id="ai_avatar-chat-00000001",
            payload=json.dumps(transcript, sort_keys=True).encode(),
            metadata={"kind": "turn", "language": "en"},
            provenance={"source": "ai_avatar.service", "intent": "keep the avatar's chat", "parents": []},
            claimed_at_us=ctx.last_time_us,
        )
    )
    return InjectionTarget("ai_avatar", "ai_avatar.gateway", "integration")


@injection(
    "workflow_claims_decision_id",
    rule_id="T7.namespace_collision",
    description="a workflow engineer writes a trace under the id of an existing enforcement decision",
    day_fraction=0.88,
    hour_utc=13,
    expected_reasons=("namespace_collision",),
)
def _workflow_claims_decision_id(ctx: InjectionContext) -> InjectionTarget:
    records = ctx.clean_artifacts("enforcement")
    decision = records[-1] if records else None
    artifact_id = decision.artifact_id if decision else _latest_or_setup(ctx, "enforcement")
    ctx.create(
        CreateRequest(
            actor_id="workflow.engineer",
            integration_id="workflow.gateway",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            owner_id="workflow.owner",
            artifact_id=artifact_id,
            expected_version=decision.version if decision else 1,
            payload=json.dumps({"run_id": "collide-0001", "steps": []}, sort_keys=True).encode(),
            metadata={"workflow": "decision-replay", "run_id": "collide-0001", "status": "succeeded"},
            provenance={"source": "workflow.runner", "intent": "replay a decision", "parents": []},
            claimed_at_us=ctx.last_time_us,
        )
    )
    return InjectionTarget("workflow", artifact_id, "artifact")
