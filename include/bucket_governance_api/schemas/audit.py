"""The audit trail: ledger entries, the immutability check, and appending an audit note."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bucket_governance_api.schemas.common import ArtifactId, Out, Strict


class LedgerEntryView(Out):
    seq: int
    entry_hash: str
    prev_hash: str
    recorded_at_us: int
    operation: str
    decision: str
    reasons: list[str]
    actor_id: str | None
    integration_id: str | None
    product_id: str | None
    artifact_id: str | None
    version: int | None
    content_hash: str | None
    policy_fingerprint: str
    details: dict[str, Any]


class EntryList(Out):
    entries: list[LedgerEntryView]
    count: int


class ImmutabilityProblem(Out):
    version: int
    code: str
    message: str


class ImmutabilityReport(Out):
    artifact_id: str
    versions_checked: int
    valid: bool
    problems: list[ImmutabilityProblem]


class AuditNote(Strict):
    artifact_id: ArtifactId | None = None
    note: str = Field(min_length=1, max_length=4000, description="what is being put on the record, and why")
    details: dict[str, Any] = Field(default_factory=dict)


class AppendResult(Out):
    seq: int
    entry_hash: str
