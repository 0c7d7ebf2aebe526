"""Trigger forms of the playbooks: one pydantic model each, unknown keys forbidden.

The Airflow trigger forms are generated from these models' JSON schemas, and the first task of every
playbook run validates the submitted form against the same model — one definition, two enforcers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Form(BaseModel):
    """Every form: unknown keys rejected; who triggered it and which finding (if any) started it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    triggered_by: Id = Field("manual", description="Who or what starts this run (a person, or a pipeline).")
    finding_id: Id | None = Field(None, description="The finding that started this run, if any.")
    finding_ids: list[Id] = Field(
        default_factory=list, max_length=500, description="Every finding this run covers (automatic starts)."
    )


class F1Form(Form):
    actor_id: Id = Field(description="The executor (or other actor) that wrote invalid data.")
    artifact_ids: list[Id] = Field(default_factory=list, description="Artifacts to quarantine besides its writes.")
    lookback_hours: int = Field(24, ge=1, le=720, description="Its writes of the last N hours are quarantined.")
    reason: Text = Field("invalid data written", description="What happened.")


class RequestedOperation(StrEnum):
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    SCHEMA_CHANGE = "SCHEMA_CHANGE"
    CROSS_PRODUCT = "CROSS_PRODUCT"


class F2Form(Form):
    actor_id: Id = Field(description="The AI actor demanding a schema change or escalating.")
    requested_operation: RequestedOperation = Field(description="What it asked for.")
    target: Id | None = Field(None, description="The artifact or product it pushed on.")
    cooling_off_minutes: int = Field(60, ge=1, le=10_080, description="Length of the cooling-off freeze.")


class F3Form(Form):
    product_id: Id = Field(description="The product asking for an exception.")
    requested_change: Text = Field(description="The change it wants.")
    justification: Text = Field(description="Why it is urgent.")
    deadline: str = Field(
        description="When the product needs an answer (ISO 8601).", json_schema_extra={"format": "date-time"}
    )


class F4Form(Form):
    proposed_fingerprint: Fingerprint = Field(description="SHA-256 fingerprint of the relaxed policy.")
    requested_by: Id = Field(description="The team or person relaxing the boundaries.")
    approver_id: Id = Field(description="The owner who will approve or reject (an actor of kind owner).")
    justification: Text = Field("emergency change", description="Why.")


class F5Form(Form):
    case_id: Id = Field(description="The case questioning the provenance.")
    artifact_ids: list[Id] = Field(min_length=1, description="The artifacts whose provenance is questioned.")
    requester: Id = Field(description="Who asks.")


class F6Form(Form):
    auditor_id: Id = Field(description="The auditor demanding an explanation (an actor of kind auditor).")
    scope: list[Id] = Field(min_length=1, description="Products the explanation covers.")
    question: Text = Field("explain the chain of custody", description="What must be explained.")


class F7Form(Form):
    case_id: Id = Field(description="The legal case.")
    artifact_ids: list[Id] = Field(default_factory=list, description="Artifacts in scope.")
    product_ids: list[Id] = Field(default_factory=list, description="Whole products in scope.")
    requested_by: Id = Field("legal", description="Who opened the investigation.")


class Level(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class F8Form(Form):
    product_id: Id = Field(description="The product exhausting storage.")
    level: Level = Field(Level.CRITICAL, description="critical halts the product's writes; warning only escalates.")
    source: Text = Field("manual", description="capacity projection, T1 rule, or manual.")


class F9Form(Form):
    product_id: Id = Field(description="The product whose writes collide.")
    artifact_ids: list[Id] = Field(default_factory=list, description="Affected artifacts (empty: the product).")
    writes_per_second: int = Field(10, ge=1, le=1000, description="Throttled rate while contained.")


class F10Form(Form):
    product_id: Id = Field(description="The product whose schema drifted.")
    artifact_class: Id = Field(description="The artifact class.")
    artifact_ids: list[Id] = Field(default_factory=list, description="Drifting artifacts to quarantine.")
    fields: list[Id] = Field(default_factory=list, description="The drifting fields.")
    approver_id: Id | None = Field(None, description="The owner approving a new baseline (if it comes to that).")
