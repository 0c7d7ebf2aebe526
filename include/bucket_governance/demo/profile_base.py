"""What every product profile shares: the catalogue of what it has written, and request builders.

A profile is only ever asked for a write or a read in time order, so everything it has recorded was written
earlier than the request it builds: parents always exist and are older than their child, and a read always
names a version that exists.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.demo.timeline import ActivityShape
from bucket_governance.policy import Operation

# Clients stamp their requests a little before the server records them (network and queueing delay).
CLAIM_DELAY_US = (20_000, 2_500_000)
CLAIM_OMITTED_RATIO = 0.1  # some clients do not send a claimed time at all


@dataclass
class ArtifactRecord:
    """One artifact the profile wrote: its latest version and the facts later writes and reads need."""

    artifact_id: str
    kind: str
    version: int
    created_at_us: int  # time of the latest version
    attributes: dict[str, Any] = field(default_factory=dict)

    def parent_ref(self, version: int | None = None) -> dict[str, Any]:
        """How provenance names a parent: an artifact id and the exact version that was used."""
        return {"artifact_id": self.artifact_id, "version": version or self.version}


@dataclass(frozen=True)
class Content:
    """The stored part of a write: inline JSON payload bytes or an external reference, plus metadata."""

    metadata: dict[str, Any]
    payload: bytes | None = None
    reference_url: str | None = None

    @classmethod
    def inline(cls, document: dict[str, Any], metadata: dict[str, Any]) -> Content:
        return cls(metadata=metadata, payload=canonical_bytes(document))


def request_size(request: CreateRequest) -> int:
    """What the store counts as the version's size: the payload, or the bytes of the reference URL."""
    if request.payload is not None:
        return len(request.payload)
    return len((request.reference_url or "").encode())


def canonical_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ProductProfile(ABC):
    """The write and read habits of one product; subclasses build each request from their own state."""

    product_id: ClassVar[str]
    artifact_class: ClassVar[str]
    source: ClassVar[str]  # provenance.source of what this product writes
    versions_per_day: ClassVar[float]  # at scale 1.0
    reads_per_day: ClassVar[float]
    write_shape: ClassVar[ActivityShape]
    read_shape: ClassVar[ActivityShape]

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.records: dict[str, ArtifactRecord] = {}
        self.order: list[str] = []  # artifact ids in creation order
        self._created = 0

    @abstractmethod
    def next_write(self, at_us: int) -> CreateRequest:
        """The next write of this product, at ``at_us``."""

    @abstractmethod
    def next_read(self, at_us: int) -> AccessRequest | None:
        """The next read of this product, or None while there is nothing to read yet."""

    # -- helpers for subclasses ---------------------------------------------------------------------------

    def next_id(self) -> str:
        """The id the next new artifact gets: deterministic, so the same seed always names the same artifacts."""
        return f"{self.product_id}-{self._created + 1:08d}"

    def actor(self, role: str) -> str:
        return f"{self.product_id}.{role}"

    @property
    def gateway(self) -> str:
        return f"{self.product_id}.gateway"

    def new_artifact(
        self,
        at_us: int,
        *,
        role: str,
        kind: str,
        content: Content,
        intent: str,
        parents: list[dict[str, Any]],
        attributes: dict[str, Any] | None = None,
    ) -> CreateRequest:
        record = ArtifactRecord(self.next_id(), kind, 1, at_us, attributes or {})
        self._created += 1
        self.records[record.artifact_id] = record
        self.order.append(record.artifact_id)
        return self._create(at_us, record, None, role=role, content=content, intent=intent, parents=parents)

    def new_version(
        self,
        at_us: int,
        record: ArtifactRecord,
        *,
        role: str,
        content: Content,
        intent: str,
    ) -> CreateRequest:
        parents = [record.parent_ref()]  # a revision descends from the version it revises
        expected = record.version
        record.version += 1
        record.created_at_us = at_us
        return self._create(at_us, record, expected, role=role, content=content, intent=intent, parents=parents)

    def read_request(
        self, record: ArtifactRecord, *, actor: str, purpose: str, version: int | None = None
    ) -> AccessRequest:
        return AccessRequest(
            operation=Operation.READ,
            actor_id=actor,
            integration_id=self.gateway,
            product_id=self.product_id,
            artifact_id=record.artifact_id,
            version=version,
            details={"purpose": purpose},
        )

    @property
    def last_record(self) -> ArtifactRecord:
        return self.records[self.order[-1]]

    def pick_settled(
        self, candidates: list[ArtifactRecord], at_us: int, min_age_us: int, *, max_version: int
    ) -> ArtifactRecord | None:
        """A candidate whose latest version is at least ``min_age_us`` old, so revisions never crowd together."""
        for _ in range(6):  # a few random tries keep this O(1); a miss just means "write something new"
            if not candidates:
                return None
            record = self.rng.choice(candidates)
            if record.version <= max_version and at_us - record.created_at_us >= min_age_us:
                return record
        return None

    def recent(self, window: int) -> ArtifactRecord | None:
        """A random artifact among the ``window`` most recently created."""
        if not self.order:
            return None
        return self.records[self.order[-1 - self.rng.randrange(min(window, len(self.order)))]]

    def popular(self) -> ArtifactRecord | None:
        """A random artifact, biased towards the oldest (established content is read most)."""
        if not self.order:
            return None
        return self.records[self.order[int(len(self.order) * self.rng.random() ** 2)]]

    def _create(
        self,
        at_us: int,
        record: ArtifactRecord,
        expected_version: int | None,
        *,
        role: str,
        content: Content,
        intent: str,
        parents: list[dict[str, Any]],
    ) -> CreateRequest:
        return CreateRequest(
            actor_id=self.actor(role),
            integration_id=self.gateway,
            product_id=self.product_id,
            artifact_class=self.artifact_class,
            owner_id=self.actor("owner"),
            artifact_id=record.artifact_id,
            expected_version=expected_version,
            payload=content.payload,
            reference_url=content.reference_url,
            metadata=content.metadata,
            provenance={"source": self.source, "intent": intent, "parents": parents},
            claimed_at_us=self._claimed_time(at_us),
        )

    def _claimed_time(self, at_us: int) -> int | None:
        if self.rng.random() < CLAIM_OMITTED_RATIO:
            return None
        return at_us - self.rng.randrange(*CLAIM_DELAY_US)
