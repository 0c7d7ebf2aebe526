"""Admission gate: a pure function (request, policy, current state) → decision with stable reason codes.

No I/O here: the store loads the state, the gate decides, so every rule is testable with plain values.
Every failed check contributes a reason; the first one is the decision's primary code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bucket_governance.policy import ActorKind, LoadedPolicy, Operation
from bucket_governance.policy.models import Actor

# Operations each actor kind may ask for; executors use the lane of their policy entry.
KIND_LANES: dict[ActorKind, frozenset[Operation]] = {
    ActorKind.AI: frozenset({Operation.CREATE, Operation.APPEND_AUDIT}),
    ActorKind.AUDITOR: frozenset({Operation.READ}),
}
WRITE_OPERATIONS = frozenset({Operation.CREATE, Operation.UPDATE, Operation.SCHEMA_CHANGE})
# Never allowed through the Bucket: immutability and approval-only schema evolution.
REFUSED_OPERATIONS: dict[Operation, tuple[str, str]] = {
    Operation.UPDATE: ("in_place_update_refused", "artifacts are immutable: write a new version instead"),
    Operation.DELETE: (
        "delete_refused",
        "artifacts are never deleted; retention and legal holds govern them",
    ),
    Operation.ERASURE: (
        "erasure_refused",
        "erasure is not performed by the Bucket; open a legal review (F7)",
    ),
    Operation.SCHEMA_CHANGE: (
        "schema_change_requires_approval",
        "schemas change only through an approved baseline (schema-drift playbook F10)",
    ),
}

STATUS_BY_CODE = {
    "version_conflict": 409,
    "expected_version_required": 409,
    "payload_too_large": 413,
    "metadata_too_large": 413,
    "quota_exceeded": 507,
    "artifact_limit_reached": 507,
    "actor_unknown": 401,
    "integration_unknown": 401,
    "class_unknown": 422,
    "metadata_too_deep": 422,
    "inline_media_rejected": 422,
    "reference_required": 422,
    "reference_not_allowed": 422,
    "artifact_not_found": 404,
    "throttled": 429,
    "policy_pinned": 423,
}
# A throttle placed without a rate (F9 containment always states one) admits this many writes per second.
DEFAULT_WRITES_PER_SECOND = 1
THROTTLE_INTERVAL_US = 1_000_000


@dataclass(frozen=True)
class GateRequest:
    operation: Operation
    actor_id: str
    integration_id: str
    product_id: str
    artifact_class: str | None = None
    artifact_id: str | None = None
    expected_version: int | None = None
    owner_id: str | None = None
    payload_size: int = 0
    metadata_size: int = 0
    metadata_depth: int = 0
    reference_url: str | None = None


@dataclass(frozen=True)
class ArtifactState:
    product_id: str
    latest_version: int
    owner_id: str


@dataclass(frozen=True)
class Throttle:
    """A write-rate limit on a product or an artifact, and the writes it already admitted this interval."""

    subject: str  # product id or artifact id
    writes_per_second: int
    recent_writes: int  # committed writes in scope during the last THROTTLE_INTERVAL_US


@dataclass(frozen=True)
class GateState:
    """What the gate needs to know about the world; loaded by the store inside the write transaction."""

    frozen_actors: frozenset[str] = frozenset()
    halted_products: frozenset[str] = frozenset()
    held_subjects: frozenset[str] = frozenset()  # artifact or product ids under legal hold
    quarantined_artifacts: frozenset[str] = frozenset()
    throttles: tuple[Throttle, ...] = ()  # the throttles on this request's product or artifact
    pinned_fingerprint: str | None = None  # set while F4 pins the last approved policy
    product_bytes: int = 0
    product_versions: int = 0
    artifact: ArtifactState | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Decision:
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def code(self) -> str:
        return self.reasons[0].code if self.reasons else "allowed"

    @property
    def message(self) -> str:
        return "; ".join(r.message for r in self.reasons) if self.reasons else "allowed"

    @property
    def status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 403) if self.reasons else 200


Check = Callable[[GateRequest, LoadedPolicy, GateState], list[Reason]]


def decide(request: GateRequest, policy: LoadedPolicy, state: GateState) -> Decision:
    actor = policy.actors.get(request.actor_id)
    if actor is None:
        return Decision((Reason("actor_unknown", f"actor {request.actor_id!r} is not in the policy"),))
    reasons: list[Reason] = []
    for check in _CHECKS:
        reasons += check(request, policy, state)
    return Decision(tuple(reasons))


def _integration(request: GateRequest, policy: LoadedPolicy, _state: GateState) -> list[Reason]:
    integration = policy.integrations.get(request.integration_id)
    if integration is None:
        return [Reason("integration_unknown", f"integration {request.integration_id!r} is not registered")]
    if integration.revoked:
        return [Reason("integration_revoked", f"integration {integration.id!r} has been revoked")]
    if not integration.approved:
        return [Reason("integration_not_approved", f"integration {integration.id!r} is not approved")]
    actor = policy.actors[request.actor_id]
    if actor.kind is not ActorKind.AUDITOR and integration.product != request.product_id:
        return [
            Reason(
                "integration_product_mismatch",
                f"integration {integration.id!r} belongs to {integration.product!r}, not {request.product_id!r}",
            )
        ]
    return []


def _lane(request: GateRequest, policy: LoadedPolicy, _state: GateState) -> list[Reason]:
    actor = policy.actors[request.actor_id]
    allowed = _lane_of(actor)
    if allowed is not None and request.operation not in allowed:
        names = ", ".join(sorted(op.value for op in allowed))
        return [
            Reason(
                "actor_lane_violation",
                f"{actor.kind.value} actor {actor.id!r} may only {names}, not {request.operation.value}",
            )
        ]
    return []


def _lane_of(actor: Actor) -> frozenset[Operation] | None:
    if actor.kind is ActorKind.EXECUTOR:
        return frozenset(actor.lane or ())
    return KIND_LANES.get(actor.kind)


def _scope(request: GateRequest, policy: LoadedPolicy, state: GateState) -> list[Reason]:
    actor = policy.actors[request.actor_id]
    reasons = []
    if request.product_id not in policy.products:
        return [Reason("product_unknown", f"product {request.product_id!r} is not in the policy")]
    in_scope = (
        request.product_id in actor.scope if actor.kind is ActorKind.AUDITOR else actor.product == request.product_id
    )
    if not in_scope:
        reasons.append(
            Reason("cross_product_access", f"actor {actor.id!r} may not act on product {request.product_id!r}")
        )
    if state.artifact is not None and state.artifact.product_id != request.product_id:
        code = "namespace_collision" if request.operation is Operation.CREATE else "cross_product_access"
        reasons.append(
            Reason(code, f"artifact {request.artifact_id!r} belongs to product {state.artifact.product_id!r}")
        )
    return reasons


def _operation(request: GateRequest, policy: LoadedPolicy, state: GateState) -> list[Reason]:
    refused = REFUSED_OPERATIONS.get(request.operation)
    reasons = [Reason(*refused)] if refused else []
    if request.operation in (Operation.DELETE, Operation.ERASURE):
        owner = state.artifact.owner_id if state.artifact else None
        if owner is not None and request.actor_id != owner:
            reasons.append(Reason("not_artifact_owner", f"only the owner {owner!r} may ask to remove this artifact"))
        if request.artifact_id in state.held_subjects or request.product_id in state.held_subjects:
            reasons.append(Reason("legal_hold", "the artifact is under legal hold"))
    if request.operation in (Operation.READ, Operation.CREATE) and request.artifact_id:
        if state.artifact is None and request.operation is Operation.READ:
            reasons.append(Reason("artifact_not_found", f"artifact {request.artifact_id!r} does not exist"))
        if request.artifact_id in state.quarantined_artifacts:
            reasons.append(Reason("artifact_quarantined", f"artifact {request.artifact_id!r} is quarantined"))
    return reasons


def _controls(request: GateRequest, _policy: LoadedPolicy, state: GateState) -> list[Reason]:
    reasons = []
    if request.actor_id in state.frozen_actors:
        reasons.append(Reason("actor_frozen", f"actor {request.actor_id!r} is frozen pending review"))
    if request.operation in WRITE_OPERATIONS and request.product_id in state.halted_products:
        reasons.append(Reason("product_halted", f"writes of product {request.product_id!r} are halted"))
    return reasons


def _throttle(request: GateRequest, _policy: LoadedPolicy, state: GateState) -> list[Reason]:
    if request.operation not in WRITE_OPERATIONS:
        return []
    return [
        Reason(
            "throttled",
            f"writes of {t.subject!r} are throttled to {t.writes_per_second} per second "
            f"({t.recent_writes} in the last second): retry later",
        )
        for t in state.throttles
        if t.subject in (request.product_id, request.artifact_id) and t.recent_writes >= t.writes_per_second
    ]


def _pinned_policy(request: GateRequest, policy: LoadedPolicy, state: GateState) -> list[Reason]:
    """F4: only the pinned (last approved) policy may admit writes; its document is not stored, so fail closed."""
    pinned = state.pinned_fingerprint
    if pinned is None or request.operation not in WRITE_OPERATIONS or policy.fingerprint == pinned:
        return []
    return [
        Reason(
            "policy_pinned",
            f"the policy in force ({policy.fingerprint}) is not the pinned approved policy ({pinned}): "
            "writes are refused until the F4 decision approves it or it is reverted",
        )
    ]


def _content(request: GateRequest, policy: LoadedPolicy, _state: GateState) -> list[Reason]:
    if request.operation is not Operation.CREATE:
        return []
    cls = policy.classes.get(request.artifact_class or "")
    if cls is None:
        return [Reason("class_unknown", f"artifact class {request.artifact_class!r} is not in the policy")]
    product = policy.products.get(request.product_id)
    reasons = []
    if product is not None and cls.name not in product.artifact_classes:
        reasons.append(Reason("class_not_allowed", f"product {product.id!r} may not store {cls.name}"))
    if cls.media_by_reference and request.reference_url is None:
        code = "inline_media_rejected" if request.payload_size else "reference_required"
        reasons.append(Reason(code, f"{cls.name} is stored by reference: send reference_url, not bytes"))
    if not cls.media_by_reference and request.reference_url is not None:
        reasons.append(Reason("reference_not_allowed", f"{cls.name} stores its payload inline, not by reference"))
    return reasons + _sizes(request, policy)


def _sizes(request: GateRequest, policy: LoadedPolicy) -> list[Reason]:
    limits = policy.limits
    reasons = []
    if request.payload_size > limits.artifact_size:
        reasons.append(
            Reason(
                "payload_too_large",
                f"payload is {request.payload_size} bytes; the limit is {int(limits.artifact_size)}",
            )
        )
    if request.metadata_size > limits.metadata_size:
        reasons.append(
            Reason(
                "metadata_too_large",
                f"metadata is {request.metadata_size} bytes; the limit is {int(limits.metadata_size)}",
            )
        )
    if request.metadata_depth > limits.metadata_max_depth:
        reasons.append(
            Reason(
                "metadata_too_deep",
                f"metadata nests {request.metadata_depth} levels; at most {limits.metadata_max_depth}",
            )
        )
    return reasons


def _ownership_and_quota(request: GateRequest, policy: LoadedPolicy, state: GateState) -> list[Reason]:
    if request.operation is not Operation.CREATE or request.product_id not in policy.products:
        return []
    product = policy.products[request.product_id]
    reasons = []
    if request.owner_id not in product.owners:
        reasons.append(Reason("owner_not_of_product", f"{request.owner_id!r} is not an owner of {product.id!r}"))
    if state.product_bytes + request.payload_size > product.quota:
        reasons.append(
            Reason(
                "quota_exceeded",
                f"product {product.id!r} would exceed its quota of {int(product.quota)} bytes",
            )
        )
    if state.product_versions + 1 > policy.limits.artifacts_per_product.max:
        reasons.append(Reason("artifact_limit_reached", f"product {product.id!r} has reached its artifact limit"))
    return reasons


def _version(request: GateRequest, _policy: LoadedPolicy, state: GateState) -> list[Reason]:
    if request.operation is not Operation.CREATE:
        return []
    current = state.artifact.latest_version if state.artifact else 0
    expected = request.expected_version
    if current and expected is None:
        return [
            Reason(
                "expected_version_required",
                f"artifact exists at version {current}: state expected_version={current}",
            )
        ]
    if (expected or 0) != current:
        return [Reason("version_conflict", f"expected version {expected}, but the current version is {current}")]
    return []


_CHECKS: tuple[Check, ...] = (
    _integration,
    _lane,
    _scope,
    _operation,
    _controls,
    _throttle,
    _pinned_policy,
    _content,
    _ownership_and_quota,
    _version,
)
