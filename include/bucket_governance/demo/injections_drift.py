"""Schema-drift incidents (T3): metadata that silently changes shape part-way through a product's history.

Both injections copy the metadata of the product's newest stored version, so everything else about their
writes is exactly what the clean history writes; only the drift itself differs. Both are allowed by the
gate (the gate checks sizes and lanes, not metadata shape): finding them is the drift pipeline's job.
"""

from __future__ import annotations

import json

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import injection

RENAMED = ("duration_ms", "length_ms")  # ai_avatar renames this field …
RETYPED = "external_bytes"  # … and starts sending this integer as a string
OPTIONAL_FIELD = "trigger"  # workflow adds this field to some of its traces (additive)
BREAKING_VERSIONS = 4
ADDITIVE_VERSIONS = 3


@injection(
    "avatar_schema_break",
    rule_id="T3.field_removal",
    description=(
        "ai_avatar starts writing clips whose metadata renames duration_ms to length_ms and sends "
        "external_bytes as a string (breaking: field removal, new required field, type change)"
    ),
    day_fraction=0.52,
    hour_utc=8,
    expected_decision="ALLOW",
    also_fires=("T3.new_required_field", "T3.type_change"),  # a rename adds a field as it removes one
)
def _avatar_schema_break(ctx: InjectionContext) -> InjectionTarget:
    template = ctx.latest_metadata("ai_avatar")
    for n in range(1, BREAKING_VERSIONS + 1):
        metadata = {k: v for k, v in template.items() if k != RENAMED[0]}
        metadata[RENAMED[1]] = template.get(RENAMED[0], 1000 * n)
        metadata[RETYPED] = f"{int(template.get(RETYPED, 1_000_000)) // 1000 + n} KB"
        artifact_id = f"ai_avatar-drift-{n:04d}"
        ctx.create(
            CreateRequest(
                actor_id="ai_avatar.agent",
                integration_id="ai_avatar.gateway",
                product_id="ai_avatar",
                artifact_class="MediaArtifact",
                owner_id="ai_avatar.owner",
                artifact_id=artifact_id,
                reference_url=f"https://cdn.avatar.example/media/drift/{artifact_id}-v1.mp4",
                metadata=metadata,
                provenance={
                    "source": "ai_avatar.studio",
                    "intent": "render a clip with the new exporter",
                    "parents": [],
                },
                claimed_at_us=ctx.last_time_us,
            )
        ).raise_if_denied()
    return InjectionTarget("ai_avatar", "ai_avatar", "product")


@injection(
    "workflow_optional_field",
    rule_id="T3.new_required_field",
    description="workflow adds an optional 'trigger' field to some of its traces (additive drift)",
    day_fraction=0.68,
    hour_utc=15,
    expected_decision="ALLOW",
)
def _workflow_optional_field(ctx: InjectionContext) -> InjectionTarget:
    template = ctx.latest_metadata("workflow")
    for n in range(1, ADDITIVE_VERSIONS + 1):
        run_id = f"run-drift-{n:03d}"
        metadata = {**template, "run_id": run_id}
        if n != 2:  # the middle trace goes without it: writers treat the field as optional
            metadata[OPTIONAL_FIELD] = "manual" if n == 1 else "schedule"
        ctx.create(
            CreateRequest(
                actor_id="workflow.service",
                integration_id="workflow.gateway",
                product_id="workflow",
                artifact_class="ExecutionTrace",
                owner_id="workflow.owner",
                artifact_id=f"workflow-drift-{n:04d}",
                payload=json.dumps({"run_id": run_id, "steps": []}, sort_keys=True).encode(),
                metadata=metadata,
                provenance={"source": "workflow.runner", "intent": "record a manually triggered run", "parents": []},
                claimed_at_us=ctx.last_time_us,
            )
        ).raise_if_denied()
    return InjectionTarget("workflow", "workflow", "product")
