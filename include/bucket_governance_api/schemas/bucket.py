"""Artifacts: writing a version, reading versions, and what a write answers."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from bucket_governance.bucket.requests import ArtifactVersion
from bucket_governance_api.schemas.common import ActorId, ArtifactId, Out, Strict


class ArtifactWrite(Strict):
    """A new artifact (no artifact_id, or a new one) or, with ``expected_version``, a new version of one."""

    artifact_class: str = Field(min_length=1, max_length=64)
    artifact_id: ArtifactId | None = None
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1, description="the version you build on")
    owner_id: ActorId | None = Field(None, description="default: the product's first owner")
    payload_text: str | None = Field(None, description="the payload as UTF-8 text (e.g. JSON)")
    reference_url: str | None = Field(None, max_length=2048, description="media classes: the external URL")
    metadata: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict, description="source, intent (the why), parents")
    claimed_at_us: int | None = Field(None, ge=0, le=2**62, description="client-claimed time, kept as a claim")
    schema_version: str = Field("1", min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_payload(self) -> ArtifactWrite:
        if self.payload_text is not None and self.reference_url is not None:
            raise ValueError("send either payload_text or reference_url, not both")
        return self


class WriteResult(Out):
    artifact_id: str
    version: int
    seq: int = Field(description="the ledger entry recording the write")
    entry_hash: str


class ArtifactView(Out):
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
    payload_text: str | None = Field(None, description="with ?include_payload=true, when the payload is UTF-8")

    @classmethod
    def of(cls, version: ArtifactVersion, payload: bytes | None = None) -> ArtifactView:
        text = None
        if payload is not None:
            try:
                text = payload.decode()
            except UnicodeDecodeError:
                text = None
        return cls(**version.__dict__, payload_text=text)


class ReadResult(Out):
    artifact: ArtifactView
    seq: int = Field(description="the ledger entry recording this read")


class VersionList(Out):
    artifact_id: str
    versions: list[ArtifactView]
    seq: int = Field(description="the ledger entry recording this read")
