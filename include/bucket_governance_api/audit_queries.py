"""Reads of the audit trail for the API: ledger entries filtered to the caller's products, and the
re-verification of one artifact's versions against their ledger entries and content hashes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from bucket_governance.db.tables import artifact_versions, ledger_entries, payloads
from bucket_governance.ledger.canonical import GENESIS_HASH, chain_hash, sha256_hex
from bucket_governance.ledger.chain import entry_from_row

L = ledger_entries


def entries(
    conn: Connection, products: Iterable[str], *conditions: ColumnElement[bool], limit: int
) -> list[dict[str, Any]]:
    """The newest entries (highest seq first) of ``products`` matching ``conditions``."""
    query = select(L).where(L.c.product_id.in_(sorted(products)), *conditions).order_by(L.c.seq.desc()).limit(limit)
    return [entry_dict(row) for row in conn.execute(query)]


def entry_dict(row: Any) -> dict[str, Any]:
    document = dict(row._mapping)
    document["reasons"] = json.loads(document["reasons"])
    document["details"] = json.loads(document["details"])
    return document


def entry_product(conn: Connection, seq: int) -> tuple[bool, str | None]:
    """(exists, product_id) of ledger entry ``seq``."""
    row = conn.execute(select(L.c.product_id).where(L.c.seq == seq)).first()
    return (False, None) if row is None else (True, row.product_id)


def artifact_product(conn: Connection, artifact_id: str) -> str | None:
    """The product that owns ``artifact_id`` (its first version), or None when it was never stored."""
    query = select(artifact_versions.c.product_id).where(artifact_versions.c.artifact_id == artifact_id).limit(1)
    return conn.execute(query).scalar()


def immutability_problems(conn: Connection, artifact_id: str) -> tuple[int, list[dict[str, Any]]]:
    """Every stored version of ``artifact_id`` checked against its ledger entry and its payload.

    The entry's hash is recomputed from its stored columns and its predecessor, so an edited entry, an
    edited version row, or an edited payload all show up.
    """
    versions = conn.execute(
        select(artifact_versions).where(artifact_versions.c.artifact_id == artifact_id).order_by("version")
    ).all()
    problems: list[dict[str, Any]] = []
    for version in versions:
        problems += [{"version": version.version, **p} for p in _version_problems(conn, version)]
    return len(versions), problems


def _version_problems(conn: Connection, version: Any) -> list[dict[str, str]]:
    entry = conn.execute(select(L).where(L.c.seq == version.ledger_seq)).first()
    if entry is None:
        return [_problem("entry_missing", f"ledger entry {version.ledger_seq} recording this version is missing")]
    problems = _entry_matches(version, entry)
    prev_hash = (
        GENESIS_HASH
        if entry.seq == 1
        else conn.execute(select(L.c.entry_hash).where(L.c.seq == entry.seq - 1)).scalar()
    )
    if prev_hash is None or chain_hash(prev_hash, entry_from_row(entry).canonical_bytes()) != entry.entry_hash:
        problems.append(_problem("entry_hash_mismatch", f"ledger entry {entry.seq} does not hash to its stored hash"))
    data = conn.execute(select(payloads.c.data).where(payloads.c.content_hash == version.content_hash)).scalar()
    if data is None:
        problems.append(_problem("payload_missing", f"no stored payload has hash {version.content_hash}"))
    elif sha256_hex(bytes(data)) != version.content_hash:
        problems.append(_problem("payload_hash_mismatch", "the stored payload no longer hashes to content_hash"))
    return problems


def _entry_matches(version: Any, entry: Any) -> list[dict[str, str]]:
    expected = {
        "operation": "CREATE",
        "decision": "ALLOW",
        "artifact_id": version.artifact_id,
        "version": version.version,
        "product_id": version.product_id,
        "content_hash": version.content_hash,
    }
    return [
        _problem("entry_mismatch", f"ledger entry {entry.seq} has {field}={getattr(entry, field)!r}, expected {want!r}")
        for field, want in expected.items()
        if getattr(entry, field) != want
    ]


def _problem(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}
