"""AI-escalation incidents (T6): one agent insisting, and several agents pushing on one target.

``repeated_escalation`` is, request by request, automated requests too: it declares ``T6.automated_request``
in ``also_fires`` (same subject). ``pressure_pattern`` uses in-lane CREATEs that the gate refuses, so no agent
escalates on its own; the refusals name a foreign id, which is also ``T7.namespace_collision`` on the same target.
"""

from __future__ import annotations

import json

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import _latest_or_setup, injection
from bucket_governance.policy import Operation

ESCALATING_AGENT = "workflow.agent"
ESCALATIONS = (Operation.SCHEMA_CHANGE, Operation.SCHEMA_CHANGE, Operation.UPDATE, Operation.SCHEMA_CHANGE)
# Agents of other products, each writing into its own product under the id of one gurukul lesson.
PUSHING = (
    ("ai_assistant", "ConversationArtifact"),
    ("workflow", "ExecutionTrace"),
    ("enforcement", "DecisionArtifact"),
)


@injection(
    "ai_repeated_escalation",
    rule_id="T6.repeated_escalation",
    description="the workflow agent asks four times within a minute to change the trace schema or rewrite a trace",
    day_fraction=0.48,
    hour_utc=16,
    expected_reasons=("actor_lane_violation",),
    also_fires=("T6.automated_request",),
)
def _ai_repeated_escalation(ctx: InjectionContext) -> InjectionTarget:
    trace = _latest_or_setup(ctx, "workflow")
    for operation in ESCALATIONS:
        ctx.submit(
            AccessRequest(
                operation=operation,
                actor_id=ESCALATING_AGENT,
                integration_id="workflow.gateway",
                product_id="workflow",
                artifact_id=trace if operation is Operation.UPDATE else None,
                details={"requested_change": "add a free-form 'agent_notes' field to every trace"},
            )
        )
    return InjectionTarget("workflow", ESCALATING_AGENT, "actor")


@injection(
    "ai_pressure_on_lesson",
    rule_id="T6.pressure_pattern",
    description="three agents of other products each try to write their own artifact under one gurukul lesson's id",
    day_fraction=0.63,
    hour_utc=20,
    expected_reasons=("namespace_collision",),
    also_fires=("T7.namespace_collision",),
)
def _ai_pressure_on_lesson(ctx: InjectionContext) -> InjectionTarget:
    lessons = ctx.clean_artifacts("gurukul", kind="lesson")
    # Not the most revised lesson (the version-conflict burst's target), so the incidents stay apart.
    busiest = max(lessons, key=lambda r: r.version) if lessons else None
    quiet = [r for r in lessons if r is not busiest]
    lesson = quiet[-1] if quiet else None
    artifact_id = lesson.artifact_id if lesson else _latest_or_setup(ctx, "gurukul")
    current = lesson.version if lesson else 1
    for product_id, artifact_class in PUSHING:
        ctx.create(
            CreateRequest(
                actor_id=f"{product_id}.agent",
                integration_id=f"{product_id}.gateway",
                product_id=product_id,
                artifact_class=artifact_class,
                owner_id=f"{product_id}.owner",
                artifact_id=artifact_id,
                expected_version=current,
                payload=json.dumps({"rewrite_of": artifact_id, "by": product_id}, sort_keys=True).encode(),
                metadata={"kind": "rewrite", "target": artifact_id},
                provenance={"source": f"{product_id}.agent", "intent": "improve the lesson", "parents": []},
                claimed_at_us=ctx.last_time_us,
            )
        )
    return InjectionTarget("gurukul", artifact_id, "artifact")
