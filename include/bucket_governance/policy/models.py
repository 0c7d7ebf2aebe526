"""The policy as typed data: products, artifact classes, integrations, actors, limits and published lists.

A deployment changes its policy files, never the code: every figure of SPEC §1 lives here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ByteSize, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Operation(StrEnum):
    CREATE = "CREATE"
    READ = "READ"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    SCHEMA_CHANGE = "SCHEMA_CHANGE"
    APPEND_AUDIT = "APPEND_AUDIT"
    ERASURE = "ERASURE"
    # Governance actions taken by playbooks; recorded in the ledger like any request.
    GOVERNANCE_ACTION = "GOVERNANCE_ACTION"


class ActorKind(StrEnum):
    HUMAN = "human"
    OWNER = "owner"
    EXECUTOR = "executor"
    AI = "ai"
    AUDITOR = "auditor"
    SERVICE = "service"


class ArtifactClass(Frozen):
    name: Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]+$")]
    description: str = ""
    media_by_reference: bool = False  # payload must be an external URL, inline bytes refused
    requires_intent: bool = False  # provenance.intent is mandatory (T10.missing_why)
    retention_days: int | None = Field(default=None, ge=1)


class Product(Frozen):
    id: Identifier
    description: str = ""
    artifact_classes: list[str] = Field(min_length=1)
    write_pattern: str = ""
    quota: ByteSize
    owners: list[Identifier] = Field(min_length=1, description="actor ids of kind owner")
    write_rate_per_second: float | None = Field(default=None, gt=0)
    read_rate_per_second: float | None = Field(default=None, gt=0)


class Integration(Frozen):
    id: Identifier
    product: Identifier
    approved: bool
    revoked: bool = False
    token_sha256: Sha256Hex = Field(description="SHA-256 of the bearer token; the token itself is never stored")


class Actor(Frozen):
    id: Identifier
    kind: ActorKind
    product: Identifier | None = None
    lane: list[Operation] | None = Field(default=None, description="executor only: the operations allowed")
    scope: list[Identifier] = Field(default_factory=list, description="auditor only: products in scope")
    team: str | None = None

    @model_validator(mode="after")
    def _kind_fits_fields(self) -> Actor:
        if self.kind is ActorKind.EXECUTOR and not self.lane:
            raise ValueError("an executor needs a non-empty 'lane' of allowed operations")
        if self.kind is not ActorKind.EXECUTOR and self.lane is not None:
            raise ValueError(f"'lane' is only for executors, not for kind {self.kind.value!r}")
        if self.kind is ActorKind.AUDITOR and not self.scope:
            raise ValueError("an auditor needs a non-empty 'scope' of products")
        if self.kind is not ActorKind.AUDITOR and self.product is None:
            raise ValueError(f"an actor of kind {self.kind.value!r} needs a 'product'")
        return self


class Tiered(Frozen):
    """A limit with its optional warning and safe levels; safe <= warning <= max."""

    max: float = Field(gt=0)
    warning: float | None = Field(default=None, gt=0)
    safe: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Tiered:
        levels = [v for v in (self.safe, self.warning, self.max) if v is not None]
        if levels != sorted(levels):
            raise ValueError("levels must satisfy safe <= warning <= max")
        return self


class StorageLimit(Frozen):
    total: ByteSize
    warning_ratio: float = Field(gt=0, lt=1)
    critical_ratio: float = Field(gt=0, le=1)


class RetentionLimit(Frozen):
    audit_days: int = Field(ge=1)
    artifact_default_days: int = Field(ge=1)


class LatencyTargets(Frozen):
    write_p99_ms: float = Field(gt=0)
    read_p99_ms: float = Field(gt=0)
    query_p99_ms: float = Field(gt=0)


class Tolerances(Frozen):
    claimed_time_seconds: int = Field(ge=0, description="client-claimed time may differ from server time by this")
    ledger_clock_skew_seconds: int = Field(ge=0, description="ledger time may go backwards by at most this")


class Limits(Frozen):
    storage: StorageLimit
    artifact_size: ByteSize
    metadata_size: ByteSize
    metadata_max_depth: int = Field(ge=1)
    writes_per_second: Tiered
    concurrent_writers: Tiered
    reads_per_second: Tiered
    concurrent_readers: Tiered
    artifacts_per_product: Tiered
    artifacts_total: Tiered
    products: Tiered
    teams: Tiered
    query_latency_ms: Tiered
    result_set: Tiered
    batch_size: Tiered
    retention: RetentionLimit
    targets: LatencyTargets
    tolerances: Tolerances


class ScaleLists(Frozen):
    what_scales: list[str] = Field(min_length=1)
    what_does_not_scale: list[str] = Field(min_length=1)
    never_assume: list[str] = Field(min_length=1)
    refusals: list[str] = Field(min_length=1)


class ThreatThresholds(Frozen):
    """Thresholds of the detection rules (SPEC §2); limits they compare against stay in ``limits``."""

    rapid_writes_bucket_seconds: int = Field(ge=1)
    large_artifact_ratio: float = Field(gt=0, le=1, description="of the artifact size limit")
    bytes_growth_factor: float = Field(gt=1, description="window bytes vs the product's daily baseline")
    bytes_baseline_days: int = Field(ge=1)
    metadata_size_ratio: float = Field(gt=0, le=1, description="of the metadata size limit")
    version_conflicts_per_artifact: int = Field(ge=1)
    concurrent_writes_span_seconds: int = Field(ge=1)
    concurrent_writes_min_writers: int = Field(ge=2)
    repeated_escalation_requests: int = Field(ge=1)
    pressure_min_actors: int = Field(ge=2)
    pressure_trend_slices: int = Field(default=4, ge=2, le=24, description="equal slices of the scan window")
    pressure_trend_min_last: int = Field(default=5, ge=1, description="refusals in the last slice")
    pressure_trend_growth: float = Field(default=2.0, ge=1, description="last slice vs first slice")
    cross_product_reads: int = Field(ge=1)


class Policy(Frozen):
    name: str
    artifact_classes: list[ArtifactClass]
    products: list[Product]
    integrations: list[Integration]
    actors: list[Actor]
    limits: Limits
    threat_thresholds: ThreatThresholds
    scale: ScaleLists
