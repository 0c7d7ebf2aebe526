"""The canonical bytes of a ledger entry — what the hash chain and the Merkle leaves are computed over.

Format (docs/ledger-format.md): UTF-8 JSON of an object with exactly the keys of :data:`ENTRY_FIELDS`
plus ``"v"`` (the format version), keys sorted, no whitespace, non-ASCII kept as UTF-8, integers only (a
float has several textual forms, so none is allowed), ``null`` for absent values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring
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
        return self.canonical_parts()[0]

    def canonical_parts(self) -> tuple[bytes, str, str]:
        """(canonical bytes, reasons JSON, details JSON): the stored columns reuse the same serialisations.

        Assembled by hand in sorted key order — on the write path this is the hottest function — and proven
        byte-identical to ``canonical_json`` of the whole document (tests/unit/test_ledger_format_doc.py).
        """
        reasons = _ENCODER.encode(list(self.reasons))
        details = canonical_json(self.details)
        s = _scalar
        text = (
            f'{{"actor_id":{s(self.actor_id)},"artifact_id":{s(self.artifact_id)},'
            f'"content_hash":{s(self.content_hash)},"decision":{s(self.decision)},"details":{details},'
            f'"integration_id":{s(self.integration_id)},"operation":{s(self.operation)},'
            f'"policy_fingerprint":{s(self.policy_fingerprint)},"product_id":{s(self.product_id)},'
            f'"reasons":{reasons},"recorded_at_us":{s(self.recorded_at_us)},"seq":{s(self.seq)},'
            f'"v":{FORMAT_VERSION},"version":{s(self.version)}}}'
        )
        return text.encode("utf-8"), reasons, details


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _scalar(value: str | int | None) -> str:
    """JSON of one top-level field, exactly as json.dumps(ensure_ascii=False) writes it."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring(value)
    if type(value) is int:
        return str(value)
    raise CanonicalFormError(f"ledger fields are strings, integers or null (got {value!r})")


def canonical_json(value: Any) -> str:
    _reject_floats(value)
    return _ENCODER.encode(value)


_FLAT_TYPES = (str, int, bool, type(None))


def _reject_floats(value: Any) -> None:
    """Walk containers without recursion; a float anywhere is refused."""
    if isinstance(value, dict) and all(type(v) in _FLAT_TYPES for v in value.values()):
        return  # the common case on the write path: a flat object of strings and integers
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise CanonicalFormError(f"floats are not allowed in canonical ledger data (got {item!r})")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """entry_hash = SHA-256(previous entry hash, 32 raw bytes ‖ canonical entry bytes), hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
