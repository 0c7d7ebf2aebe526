"""The canonical bytes of a *stored* ledger row, spliced from its columns without re-parsing them.

The ``reasons`` and ``details`` columns hold exactly the canonical JSON texts the entry hash was computed
over (``LedgerEntry.canonical_parts``), so the bytes can be reassembled around them as stored. That is
stricter than parse-and-re-encode (any change to the stored text, even one that parses to the same value,
changes the bytes and breaks the hash) and several times faster — it is the hot loop of verification and
of Merkle leaf hashing. ``tests/unit/test_stored_bytes.py`` proves it equal to ``entry_from_row`` bytes.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

from bucket_governance.ledger.canonical import FORMAT_VERSION, CanonicalFormError


def _s(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring(value)
    if type(value) is int:
        return str(value)
    raise CanonicalFormError(f"ledger fields are strings, integers or null (got {value!r})")


def stored_canonical_bytes(row: Any) -> bytes:
    """Canonical bytes of a ledger row as stored; raises ``CanonicalFormError`` for non-canonical columns."""
    if not isinstance(row.reasons, str) or not isinstance(row.details, str):
        raise CanonicalFormError("the reasons and details columns must hold JSON text")
    text = (
        f'{{"actor_id":{_s(row.actor_id)},"artifact_id":{_s(row.artifact_id)},'
        f'"content_hash":{_s(row.content_hash)},"decision":{_s(row.decision)},"details":{row.details},'
        f'"integration_id":{_s(row.integration_id)},"operation":{_s(row.operation)},'
        f'"policy_fingerprint":{_s(row.policy_fingerprint)},"product_id":{_s(row.product_id)},'
        f'"reasons":{row.reasons},"recorded_at_us":{_s(row.recorded_at_us)},"seq":{_s(row.seq)},'
        f'"v":{FORMAT_VERSION},"version":{_s(row.version)}}}'
    )
    return text.encode("utf-8", "surrogatepass")
