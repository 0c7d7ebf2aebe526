"""The canonical bytes of a ledger entry — what the hash chain and the Merkle leaves are computed over.

Format (docs/ledger-format.md): UTF-8 JSON of an object with exactly the keys of :data:`ENTRY_FIELDS`
plus ``"v"`` (the format version), keys sorted, no whitespace, non-ASCII kept as UTF-8, integers only (a
float has several textual forms, so none is allowed), ``null`` for absent values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64

ENTRY_FIELDS = (
    "seq",
    "recorded_at_us",
    "operation",
    "decision",
    "reasons",
    "actor_id",
    "integration_id",
    "product_id",
    "artifact_id",
    "version",
    "content_hash",
    "policy_fingerprint",
    "details",
)


class CanonicalFormError(ValueError):
    """A value cannot be represented canonically (e.g. a float)."""


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    recorded_at_us: int
    operation: str
    decision: str
    reasons: tuple[str, ...]
    actor_id: str | None
    integration_id: str | None
    product_id: str | None
    artifact_id: str | None
    version: int | None
    content_hash: str | None
    policy_fingerprint: str
    details: dict[str, Any] = field(default_factory=dict)

    def canonical_bytes(self) -> bytes:
        document = asdict(self)
        document["reasons"] = list(self.reasons)
        document["v"] = FORMAT_VERSION
        return canonical_json(document).encode("utf-8")


def canonical_json(value: Any) -> str:
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise CanonicalFormError(f"floats are not allowed in canonical ledger data (got {value!r})")
    if isinstance(value, dict):
        for item in value.values():
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """entry_hash = SHA-256(previous entry hash, 32 raw bytes ‖ canonical entry bytes), hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
