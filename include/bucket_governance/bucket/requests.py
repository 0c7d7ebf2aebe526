"""What callers hand the store, and what they get back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bucket_governance.bucket.gate import Decision
from bucket_governance.errors import RequestDeniedError
from bucket_governance.policy import Operation


@dataclass(frozen=True)
class CreateRequest:
    """A governed CREATE: a new artifact (no artifact_id, or a new one) or a new version of an existing one."""

    actor_id: str
    integration_id: str
    product_id: str
    artifact_class: str
    owner_id: str | None = None
    artifact_id: str | None = None
    expected_version: int | None = None
    payload: bytes | None = None
    reference_url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    claimed_at_us: int | None = None
    schema_version: str = "1"


@dataclass(frozen=True)
class AccessRequest:
    """Any request other than CREATE: READ, UPDATE, DELETE, SCHEMA_CHANGE, APPEND_AUDIT, ERASURE."""

    operation: Operation
    actor_id: str
    integration_id: str
    product_id: str
    artifact_id: str | None = None
    version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The result of one request: the decision and the ledger entry that records it."""

    decision: Decision
    seq: int
    entry_hash: str
    artifact_id: str | None = None
    version: int | None = None

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def raise_if_denied(self) -> Outcome:
        if not self.allowed:
            raise RequestDeniedError(
                self.decision.code, f"request denied: {self.decision.message} (ledger seq {self.seq})", seq=self.seq
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        if not self.allowed:
            return {
                "error": {"code": self.decision.code, "message": self.decision.message},
                "seq": self.seq,
                "entry_hash": self.entry_hash,
            }
        return {
            "artifact_id": self.artifact_id,
            "version": self.version,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
        }


@dataclass(frozen=True)
class ArtifactVersion:
    artifact_id: str
    version: int
    product_id: str
    artifact_class: str
    owner_id: str
    created_by: str
    integration_id: str
    created_at_us: int
    claimed_at_us: int | None
    content_hash: str
    size_bytes: int
    reference_url: str | None
    metadata: dict[str, Any]
    provenance: dict[str, Any]
    schema_version: str
    ledger_seq: int

    @classmethod
    def from_row(cls, row: Any) -> ArtifactVersion:
        values = dict(row._mapping)
        values["metadata"] = json.loads(values["metadata"])
        values["provenance"] = json.loads(values["provenance"])
        return cls(**values)


def json_depth(value: Any) -> int:
    """Nesting depth of a JSON value: a scalar is 0, {} or [] is 1, {"a": {}} is 2."""
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0
