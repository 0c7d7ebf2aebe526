"""Self-contained proof files and their offline verification (no database, no code of ours needed to read).

An **inclusion** proof file carries one ledger entry's canonical bytes, its leaf index, the tree size, the
RFC 9162 audit path and the signed checkpoint of that tree; a **consistency** proof file carries two signed
checkpoints and the path proving the newer tree only appended to the older. ``verify_bundle`` needs only
the file's content and the verifier key(s): exactly what an outside auditor holds. Format:
docs/checkpoint-format.md §7.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bucket_governance.ledger.checkpoint import Checkpoint, CheckpointError, verify_signed_checkpoint
from bucket_governance.ledger.merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion

FORMAT = "bucket-governance/proof/v1"
INCLUSION_KEYS = frozenset(
    {"format", "type", "entry_seq", "leaf_index", "tree_size", "entry_canonical_b64", "entry", "artifact"}
    | {"leaf_hash", "path", "checkpoint"}
)
CONSISTENCY_KEYS = frozenset({"format", "type", "old_checkpoint", "new_checkpoint", "path"})


class ProofRejected(ValueError):
    """The proof does not hold; the message says which check failed."""


@dataclass(frozen=True)
class ProofCheck:
    ok: bool
    kind: str
    problem: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "type": self.kind, "problem": self.problem, **self.facts}


def inclusion_bundle(
    canonical: bytes, seq: int, tree_size: int, path: Iterable[bytes], signed_checkpoint: str, artifact: Any = None
) -> dict[str, Any]:
    """The JSON document of an inclusion proof for entry ``seq`` (leaf ``seq - 1``)."""
    return {
        "format": FORMAT,
        "type": "inclusion",
        "entry_seq": seq,
        "leaf_index": seq - 1,
        "tree_size": tree_size,
        "entry_canonical_b64": base64.b64encode(canonical).decode("ascii"),
        "entry": json.loads(canonical),  # readable copy; the verifier requires it to equal the bytes
        "artifact": artifact,
        "leaf_hash": leaf_hash(canonical).hex(),
        "path": [h.hex() for h in path],
        "checkpoint": signed_checkpoint,
    }


def consistency_bundle(old_checkpoint: str, new_checkpoint: str, path: Iterable[bytes]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "type": "consistency",
        "old_checkpoint": old_checkpoint,
        "new_checkpoint": new_checkpoint,
        "path": [h.hex() for h in path],
    }


def verify_bundle(document: Any, verifier_keys: Iterable[str]) -> ProofCheck:
    """Check a proof document offline; never raises for a bad proof (``ok`` False with the reason)."""
    keys = list(verifier_keys)
    kind = document.get("type") if isinstance(document, dict) else None
    try:
        if kind == "inclusion":
            return ProofCheck(True, kind, facts=_verify_inclusion(document, keys))
        if kind == "consistency":
            return ProofCheck(True, kind, facts=_verify_consistency(document, keys))
        raise ProofRejected("the document is not a proof file: 'type' must be 'inclusion' or 'consistency'")
    except ProofRejected as exc:
        return ProofCheck(False, str(kind), problem=str(exc))
    except CheckpointError as exc:
        return ProofCheck(False, str(kind), problem=f"checkpoint: {exc.message}")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProofRejected(message)


def _checkpoint(text: Any, keys: list[str]) -> Checkpoint:
    _require(isinstance(text, str), "a checkpoint must be the signed-note text")
    return verify_signed_checkpoint(text, keys)


def _hashes(values: Any) -> list[bytes]:
    _require(isinstance(values, list) and all(isinstance(v, str) for v in values), "'path' must be a list of hex")
    try:
        hashes = [bytes.fromhex(v) for v in values]
    except ValueError:
        raise ProofRejected("'path' holds something that is not hex") from None
    _require(all(len(h) == HASH_SIZE and h.hex() == v for h, v in zip(hashes, values, strict=True)), "bad hash")
    return hashes


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _verify_inclusion(doc: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    _require(set(doc) == INCLUSION_KEYS and doc["format"] == FORMAT, f"not a {FORMAT} inclusion proof")
    seq, index, size = doc["entry_seq"], doc["leaf_index"], doc["tree_size"]
    _require(_is_int(seq) and _is_int(index) and _is_int(size), "sizes and indexes must be integers")
    canonical = _canonical_bytes(doc["entry_canonical_b64"])
    entry = _entry(canonical)
    _require(entry == doc["entry"], "the readable 'entry' differs from the canonical bytes")
    _require(entry.get("seq") == seq and index == seq - 1, "leaf index, entry_seq and the entry's seq disagree")
    _require(leaf_hash(canonical).hex() == doc["leaf_hash"], "'leaf_hash' is not the hash of the entry bytes")
    _check_artifact(doc["artifact"], entry)
    checkpoint = _checkpoint(doc["checkpoint"], keys)
    _require(checkpoint.size == size, f"the checkpoint signs a tree of {checkpoint.size}, the proof says {size}")
    path = _hashes(doc["path"])
    held = verify_inclusion(index, size, leaf_hash(canonical), path, checkpoint.root_hash)
    _require(held, f"the path does not lead from entry {seq} to the signed root of {size} entries")
    return {"entry_seq": seq, "tree_size": size, "root_hash": checkpoint.root_hash.hex(), "artifact": doc["artifact"]}


def _canonical_bytes(text: Any) -> bytes:
    _require(isinstance(text, str), "'entry_canonical_b64' must be base64 text")
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProofRejected("'entry_canonical_b64' is not base64") from None
    _require(base64.b64encode(decoded).decode("ascii") == text, "'entry_canonical_b64' is not canonical base64")
    return decoded


def _entry(canonical: bytes) -> dict[str, Any]:
    try:
        entry = json.loads(canonical.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProofRejected("the entry bytes are not UTF-8 JSON") from None
    _require(isinstance(entry, dict), "the entry bytes are not a JSON object")
    return entry  # type: ignore[no-any-return]


def _check_artifact(artifact: Any, entry: dict[str, Any]) -> None:
    """An artifact version's proof is the proof of its CREATE entry: the entry must name that version."""
    if artifact is None:
        return
    _require(isinstance(artifact, dict) and set(artifact) == {"artifact_id", "version"}, "bad 'artifact'")
    named = (entry.get("operation"), entry.get("decision"), entry.get("artifact_id"), entry.get("version"))
    expected = ("CREATE", "ALLOW", artifact["artifact_id"], artifact["version"])
    _require(named == expected, f"the entry does not record the creation of {artifact}")


def _verify_consistency(doc: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    _require(set(doc) == CONSISTENCY_KEYS and doc["format"] == FORMAT, f"not a {FORMAT} consistency proof")
    old, new = _checkpoint(doc["old_checkpoint"], keys), _checkpoint(doc["new_checkpoint"], keys)
    _require(old.origin == new.origin, "the two checkpoints are of different ledgers (origins differ)")
    path = _hashes(doc["path"])
    held = verify_consistency(old.size, new.size, old.root_hash, new.root_hash, path)
    _require(held, f"the tree of {new.size} entries is not an append-only extension of the tree of {old.size}")
    return {"old_size": old.size, "new_size": new.size, "new_root_hash": new.root_hash.hex()}
