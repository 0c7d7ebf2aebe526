"""The registry of incidents the demo can inject, one per detection rule of SPEC §2 (growing).

Each entry names the rule that must find it, says in one line what it does, and acts through the governed
store (or, for attacks that go around the gate, directly on the database) inside its quiet band. To add one:
write a function ``(InjectionContext) -> InjectionTarget`` and decorate it with :func:`injection`; pick a
``day_fraction``/``hour_utc`` not used by another injection so incidents stay apart in time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.demo.injection_context import (
    ExpectedDecision,
    Injection,
    InjectionContext,
    InjectionTarget,
)
from bucket_governance.errors import InvalidInputError
from bucket_governance.policy import Operation

REGISTRY: dict[str, Injection] = {}

Apply = Callable[[InjectionContext], InjectionTarget]


def injection(
    name: str,
    *,
    rule_id: str,
    description: str,
    day_fraction: float,
    hour_utc: int,
    expected_decision: ExpectedDecision = "DENY",
    expected_reasons: tuple[str, ...] = (),
    also_fires: tuple[str, ...] = (),
) -> Callable[[Apply], Apply]:
    """Register the decorated function as the injection ``name``."""

    def register(apply: Apply) -> Apply:
        if name in REGISTRY:
            raise ValueError(f"injection {name!r} is registered twice")
        REGISTRY[name] = Injection(
            name=name,
            rule_id=rule_id,
            description=description,
            apply=apply,
            day_fraction=day_fraction,
            hour_utc=hour_utc,
            expected_decision=expected_decision,
            expected_reasons=expected_reasons,
            also_fires=also_fires,
        )
        return apply

    return register


def resolve_injections(inject: str | Sequence[str]) -> list[Injection]:
    """``"none"``, ``"all"``, a comma-separated string or a list of names → the injections, in registry order."""
    if isinstance(inject, str):
        if inject in ("none", ""):
            return []
        if inject == "all":
            return list(REGISTRY.values())
        inject = [n.strip() for n in inject.split(",") if n.strip()]
    unknown = [n for n in inject if n not in REGISTRY]
    if unknown:
        raise InvalidInputError(
            "injection_unknown",
            f"unknown injection(s) {', '.join(map(repr, unknown))}; choose from: {', '.join(REGISTRY)} (or all, none)",
        )
    return [i for name, i in REGISTRY.items() if name in set(inject)]


# -- the injections --------------------------------------------------------------------------------------


@injection(
    "ai_update_request",
    rule_id="T6.automated_request",
    description="the enforcement AI agent asks to UPDATE one of its decisions in place; the gate refuses it",
    day_fraction=0.3,
    hour_utc=14,
    expected_reasons=("actor_lane_violation", "in_place_update_refused"),
)
def _ai_update_request(ctx: InjectionContext) -> InjectionTarget:
    decision = _latest_or_setup(ctx, "enforcement", kind="screening")  # a decision the agent itself wrote
    ctx.submit(
        AccessRequest(
            operation=Operation.UPDATE,
            actor_id="enforcement.agent",
            integration_id="enforcement.gateway",
            product_id="enforcement",
            artifact_id=decision,
            details={"requested_change": "overwrite the decision with a milder outcome"},
        )
    )
    return InjectionTarget("enforcement", "enforcement.agent", "actor")


@injection(
    "unapproved_integration_write",
    rule_id="T2.invalid_integration",
    description="a workflow trace is written through workflow.legacy-sync, an integration never approved",
    day_fraction=0.45,
    hour_utc=3,
    expected_reasons=("integration_not_approved",),
)
def _unapproved_integration_write(ctx: InjectionContext) -> InjectionTarget:
    trace = {"run_id": "legacy-0001", "workflow": "legacy-export", "status": "succeeded", "steps": []}
    ctx.create(
        CreateRequest(
            actor_id="workflow.service",
            integration_id="workflow.legacy-sync",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            owner_id="workflow.owner",
            artifact_id="workflow-legacy-00000001",
            payload=json.dumps(trace, sort_keys=True).encode(),
            metadata={"workflow": "legacy-export", "run_id": "legacy-0001", "status": "succeeded"},
            provenance={"source": "workflow.legacy-sync", "intent": "mirror a legacy export run", "parents": []},
            claimed_at_us=ctx.last_time_us,
        )
    )
    return InjectionTarget("workflow", "workflow.legacy-sync", "integration")


@injection(
    "version_conflict_burst",
    rule_id="T4.version_conflict",
    description="four gurukul writers race to revise one lesson from a stale version; each gets a 409",
    day_fraction=0.6,
    hour_utc=10,
    expected_reasons=("version_conflict",),
)
def _version_conflict_burst(ctx: InjectionContext) -> InjectionTarget:
    lessons = ctx.clean_artifacts("gurukul", kind="lesson")
    # The most revised lesson: a stale view of it is the realistic race.
    lesson = max(lessons, key=lambda r: r.version) if lessons else None
    artifact_id = lesson.artifact_id if lesson else _latest_or_setup(ctx, "gurukul")
    stale = (lesson.version if lesson else 1) - 1
    for role in ("engineer", "owner", "executor", "agent"):
        body = {"body": f"competing edit by gurukul.{role}", "revision": stale + 1}
        ctx.create(
            CreateRequest(
                actor_id=f"gurukul.{role}",
                integration_id="gurukul.gateway",
                product_id="gurukul",
                artifact_class="ContentArtifact",
                owner_id="gurukul.owner",
                artifact_id=artifact_id,
                expected_version=stale,
                payload=json.dumps(body, sort_keys=True).encode(),
                metadata={"kind": "lesson", "revision": stale + 1, "revision_note": "concurrent edit"},
                provenance={"source": "gurukul.authoring", "intent": "revise the lesson", "parents": []},
                claimed_at_us=ctx.last_time_us,
            )
        )
    return InjectionTarget("gurukul", artifact_id, "artifact")


@injection(
    "cross_product_read",
    rule_id="T7.metadata_leakage",
    description="the ai_assistant service reads a gurukul lesson through its own product; the gate refuses it",
    day_fraction=0.75,
    hour_utc=19,
    expected_reasons=("cross_product_access",),
)
def _cross_product_read(ctx: InjectionContext) -> InjectionTarget:
    lesson = _latest_or_setup(ctx, "gurukul")
    ctx.submit(
        AccessRequest(
            operation=Operation.READ,
            actor_id="ai_assistant.service",
            integration_id="ai_assistant.gateway",
            product_id="ai_assistant",
            artifact_id=lesson,
            details={"purpose": "enrich an answer with course material"},
        )
    )
    return InjectionTarget("ai_assistant", "ai_assistant.service", "actor")


# -- helpers ---------------------------------------------------------------------------------------------


def _latest_or_setup(ctx: InjectionContext, product_id: str, kind: str | None = None) -> str:
    """The newest clean artifact of a product; in a history too short to have one, a target written first."""
    records = ctx.clean_artifacts(product_id, kind)
    if records:
        return records[-1].artifact_id
    return _setup_target(ctx, product_id)


def _setup_target(ctx: InjectionContext, product_id: str) -> str:
    artifact_class = ctx.policy.products[product_id].artifact_classes[0]
    by_reference = ctx.policy.classes[artifact_class].media_by_reference
    artifact_id = f"{product_id}-target-{ctx.name}"
    outcome = ctx.create(
        CreateRequest(
            actor_id=f"{product_id}.engineer",
            integration_id=f"{product_id}.gateway",
            product_id=product_id,
            artifact_class=artifact_class,
            owner_id=f"{product_id}.owner",
            artifact_id=artifact_id,
            payload=None if by_reference else b'{"note":"injection target"}',
            reference_url=f"https://cdn.example/{artifact_id}" if by_reference else None,
            provenance={"source": f"{product_id}.demo", "intent": "a target for an injected incident", "parents": []},
        ),
        setup=True,
    )
    outcome.raise_if_denied()
    return artifact_id
