"""Signed checkpoints, inclusion proofs, findings, health."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bucket_governance_api.schemas.common import Out


class CheckpointView(Out):
    checkpoint_id: int
    tree_size: int
    root_hash: str
    key_name: str
    key_id: str
    signed_note: str = Field(description="C2SP signed note; verify offline with the published key")
    created_at_us: int
    previous_size: int
    consistency_proof: list[str]


class ProofFile(Out):
    """An inclusion proof file, verifiable offline with `bucket-gov verify-proof`."""

    proof: dict[str, Any]


class FindingView(Out):
    finding_id: str
    rule_id: str
    rule_version: int
    threat_id: str
    severity: str
    product_id: str | None
    subject: str
    first_seen: str
    last_seen: str
    first_seen_us: int
    last_seen_us: int
    count: int
    evidence: dict[str, Any]
    playbook: str | None
    status: str
    status_reason: str | None
    status_owner: str | None
    suppressed_until_us: int | None


class FindingList(Out):
    findings: list[FindingView]


class Health(Out):
    status: str
    database: str
    policy_fingerprint: str
    ledger_head_seq: int
    caller: str
    product_id: str


class IncidentEvent(Out):
    at_us: int
    actor: str
    step: str
    detail: dict[str, Any]
    ledger_seq: int | None


class IncidentView(Out):
    incident_id: str
    playbook: str
    subject: str
    status: str
    opened_by: str
    opened_at_us: int
    updated_at_us: int
    closed_at_us: int | None
    escalation_role: str
    escalation_due_us: int | None
    trigger_count: int
    inputs: dict[str, Any]
    decision: dict[str, Any] | None
    outcome: str | None
    evidence_root: str | None
    timeline: list[IncidentEvent] = Field(default_factory=list)


class IncidentList(Out):
    incidents: list[IncidentView]
