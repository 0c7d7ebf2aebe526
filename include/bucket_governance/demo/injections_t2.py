"""Metadata-poisoning incidents (T2): a forged owner, a backdated decision.

The forged owner is a real actor (another product's owner), so it is T2's case and not T9.ambiguous_owner's;
the backdated decision is allowed (the gate keeps a claimed time only as a claim) and copies the metadata of
the newest enforcement decision, so nothing but its claimed time stands out.
"""

from __future__ import annotations

import json

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import injection

HOUR_US = 3600 * 1_000_000
BACKDATE_US = 6 * HOUR_US  # far beyond the tolerance (default 300 s)


@injection(
    "forged_owner_write",
    rule_id="T2.forged_owner",
    description="the workflow service writes a trace naming gurukul.owner, a real owner of another product, as its "
    "owner; the gate refuses it",
    day_fraction=0.5,
    hour_utc=18,
    expected_reasons=("owner_not_of_product",),
)
def _forged_owner_write(ctx: InjectionContext) -> InjectionTarget:
    trace = {"run_id": "run-forged-0001", "steps": []}
    ctx.create(
        CreateRequest(
            actor_id="workflow.service",
            integration_id="workflow.gateway",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            owner_id="gurukul.owner",
            artifact_id="workflow-forged-0001",
            payload=json.dumps(trace, sort_keys=True).encode(),
            metadata=ctx.latest_metadata("workflow"),
            provenance={"source": "workflow.runner", "intent": "record a run", "parents": []},
            claimed_at_us=ctx.last_time_us,
        )
    )
    return InjectionTarget("workflow", "workflow.service", "actor")


@injection(
    "backdated_decision",
    rule_id="T2.backdated_timestamp",
    description="an enforcement engineer stores a decision claiming it was taken six hours before the server "
    "received it",
    day_fraction=0.58,
    hour_utc=22,
    expected_decision="ALLOW",
)
def _backdated_decision(ctx: InjectionContext) -> InjectionTarget:
    at_us = ctx.last_time_us
    ctx.create(
        CreateRequest(
            actor_id="enforcement.engineer",
            integration_id="enforcement.gateway",
            product_id="enforcement",
            artifact_class="DecisionArtifact",
            owner_id="enforcement.owner",
            artifact_id="enforcement-backdated-0001",
            payload=b'{"outcome":"cleared"}',
            metadata=ctx.latest_metadata("enforcement"),
            provenance={"source": "enforcement.console", "intent": "record a review decision", "parents": []},
            claimed_at_us=at_us - BACKDATE_US,
        )
    ).raise_if_denied()
    return InjectionTarget("enforcement", "enforcement.engineer", "actor")
