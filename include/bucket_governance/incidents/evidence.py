"""Evidence bundles: a directory an outsider can verify offline, anchored to a signed checkpoint.

Layout: ``incident.json``, ``findings.json``, ``artifacts/<id>/v<N>.json`` (+ ``.payload``),
``ledger/entries.jsonl``, ``proofs/entry-<seq>.json`` (inclusion proof of each included ledger entry
against ONE signed checkpoint, format of ledger/proof_bundle.py), optional ``reports/*.json``,
``verifier_key.txt``, and ``manifest.json`` listing every other file (path, SHA-256, size) with the
bundle root hash: the RFC 9162 Merkle root over the manifest lines, sorted by path. The root hash is also
written to the ledger (``evidence_preserved``), so the bundle itself is anchored in the audit trail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from bucket_governance.db.tables import artifact_versions, findings, ledger_entries
from bucket_governance.ledger.chain import entry_from_row
from bucket_governance.ledger.checkpoint_store import StoredCheckpoint, create_checkpoint, latest_checkpoint
from bucket_governance.ledger.merkle import leaf_hash, root_from_leaf_hashes
from bucket_governance.ledger.proof_build import checkpoint_tree
from bucket_governance.ledger.proof_bundle import inclusion_bundle

FORMAT = "bucket-governance/evidence/v1"
MAX_ENTRIES = 300  # ledger entries per bundle (newest first per subject); proofs cost O(log n) each
MAX_VERSIONS = 50  # versions per artifact
L, A, FD = ledger_entries.c, artifact_versions.c, findings.c


@dataclass(frozen=True)
class Scope:
    actors: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    ledger_verification: bool = False


@dataclass(frozen=True)
class Signer:
    private_key: Any  # Ed25519PrivateKey
    key_name: str


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode()


def build_bundle(
    engine: Engine, scope: Scope, out_dir: Path, signer: Signer, *, incident: dict[str, Any]
) -> dict[str, Any]:
    """Write the bundle into ``out_dir`` (created; must be empty) and return its manifest."""
    from bucket_governance.ledger.checkpoint import export_public_key

    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty: an evidence bundle is never overwritten")
    with engine.connect() as conn:
        seqs, versions = _select(conn, scope)
    checkpoint = _checkpoint(engine, signer, max(seqs, default=0))
    with engine.connect() as conn:
        _write_versions(conn, out_dir, versions)
        _write_entries_and_proofs(conn, out_dir, seqs, checkpoint)
        _write(out_dir, "findings.json", _json(_findings(conn, scope)))
        if scope.ledger_verification:
            from bucket_governance.ledger.verify import verify_chain

            _write(out_dir, "reports/ledger_verification.json", _json(verify_chain(conn).as_dict()))
    _write(out_dir, "incident.json", _json(incident))
    _write(out_dir, "verifier_key.txt", (export_public_key(signer.private_key, signer.key_name) + "\n").encode())
    meta = {"checkpoint_id": checkpoint.checkpoint_id, "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash, "incident_id": incident.get("incident_id")}  # fmt: skip
    return write_manifest(out_dir, meta)


def _select(conn: Connection, scope: Scope) -> tuple[list[int], list[Any]]:
    conditions = []
    if scope.actors:
        conditions.append(L.actor_id.in_(scope.actors))
    if scope.artifacts:
        conditions.append(L.artifact_id.in_(scope.artifacts))
    if scope.products:
        conditions.append(L.product_id.in_(scope.products))
    seqs: list[int] = []
    if conditions:
        query = select(L.seq).where(or_(*conditions)).order_by(L.seq.desc()).limit(MAX_ENTRIES)
        seqs = sorted(conn.execute(query).scalars())
    versions: list[Any] = []
    for artifact_id in scope.artifacts:
        query = select(artifact_versions).where(A.artifact_id == artifact_id).order_by(A.version.desc())
        versions += list(conn.execute(query.limit(MAX_VERSIONS)))
    return sorted(set(seqs) | {int(v.ledger_seq) for v in versions}), versions


def _checkpoint(engine: Engine, signer: Signer, needed_seq: int) -> StoredCheckpoint:
    """The newest signed checkpoint if it covers every included entry, else a new one signed now."""
    with engine.connect() as conn:
        latest = latest_checkpoint(conn)
    if latest is not None and latest.tree_size >= needed_seq and latest.tree_size > 0:
        return latest
    return create_checkpoint(engine, signer.private_key, signer.key_name)


def _write_versions(conn: Connection, out_dir: Path, versions: list[Any]) -> None:
    from bucket_governance.db.tables import payloads

    for v in versions:
        base = f"artifacts/{v.artifact_id}/v{v.version}"
        _write(out_dir, f"{base}.json", _json(dict(v._mapping)))
        data = conn.execute(select(payloads.c.data).where(payloads.c.content_hash == v.content_hash)).scalar()
        if data is not None:
            _write(out_dir, f"{base}.payload", bytes(data))


def _write_entries_and_proofs(conn: Connection, out_dir: Path, seqs: list[int], cp: StoredCheckpoint) -> None:
    tree = checkpoint_tree(conn, cp)  # every level hashed once (cached): O(log n) per proof
    lines = []
    for seq in seqs:
        row = conn.execute(select(ledger_entries).where(L.seq == seq)).one()
        canonical = entry_from_row(row).canonical_bytes()
        proof = inclusion_bundle(canonical, seq, cp.tree_size, tree.inclusion_proof(seq - 1), cp.signed_note)
        _write(out_dir, f"proofs/entry-{seq}.json", _json(proof))
        lines.append(json.dumps(proof["entry"], sort_keys=True))
    _write(out_dir, "ledger/entries.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")


def _findings(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    subjects = [*scope.actors, *scope.artifacts, *scope.products]
    if not subjects:
        return []
    query = select(findings).where(or_(FD.subject.in_(subjects), FD.product_id.in_(scope.products)))
    return [dict(r._mapping) for r in conn.execute(query.order_by(FD.finding_id).limit(1000))]


def _line(path: str, sha: str, size: int) -> bytes:
    return f"{path}\n{sha}\n{size}".encode()


def bundle_root(files: list[dict[str, Any]]) -> str:
    leaves = [leaf_hash(_line(f["path"], f["sha256"], f["size"])) for f in sorted(files, key=lambda f: f["path"])]
    return root_from_leaf_hashes(leaves).hex()


def write_manifest(out_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    files = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json"):
        data = path.read_bytes()
        files.append({"path": path.relative_to(out_dir).as_posix(), "sha256": hashlib.sha256(data).hexdigest(),
                      "size": len(data)})  # fmt: skip
    manifest = {"format": FORMAT, **meta, "files": files, "root_hash": bundle_root(files)}
    _write(out_dir, "manifest.json", _json(manifest))
    return manifest
