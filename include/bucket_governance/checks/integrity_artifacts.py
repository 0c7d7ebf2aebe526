"""Artifacts ↔ ledger, both ways, and stored payloads ↔ their content hashes.

* Every artifact version must be recorded by the allowed CREATE entry it points at (``ledger_seq``), with
  the same product, content hash and metadata/provenance hashes; a version whose entry is missing or
  records something else was written around the gate (T5.direct_db_access, and the log omits it:
  T8.selective_omission); a version that differs from its entry was altered (T5.direct_db_access).
* Every allowed CREATE entry must have its version (else the version was removed: T8.selective_omission).
* Every payload must still hash to its content hash (else it was altered in place: T5.direct_db_access).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, tuple_

from bucket_governance.checks.integrity_ledger import LoggedCreate
from bucket_governance.checks.integrity_records import DIRECT_DB_ACCESS, SELECTIVE_OMISSION, Problem, recorded_time
from bucket_governance.db.tables import artifact_versions, ledger_entries, payloads

A, L, P = artifact_versions, ledger_entries, payloads
CHUNK = 500


@dataclass(frozen=True)
class CreateRef:
    """What an allowed CREATE entry says its artifact version must look like."""

    seq: int
    artifact_id: str
    version: int
    product_id: str | None
    content_hash: str | None
    metadata_sha256: str | None
    provenance_sha256: str | None
    recorded_at_us: int | None  # None when a tampered entry holds no time


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _subject(artifact_id: str, version: int) -> str:
    return f"artifact:{artifact_id}@{version}"


# -- artifact side ------------------------------------------------------------------------------------------


def check_versions(conn: Connection, where: ColumnElement[bool] | None = None, limit: int | None = None) -> Any:
    """Check the artifact versions matching ``where`` (all by default); returns (problems, last key, count)."""
    query = select(A).order_by(A.c.artifact_id, A.c.version)
    if where is not None:
        query = query.where(where)
    if limit is not None:
        query = query.limit(limit)
    problems: list[Problem] = []
    last_key: tuple[str, int] | None = None
    count = 0
    for chunk in _chunks(conn.execute(query).all()):
        entries = _entries_by_seq(conn, [int(r.ledger_seq) for r in chunk])
        stored_payloads = _payload_hashes(conn, {r.content_hash for r in chunk})
        for row in chunk:
            problems += _version_problems(row, entries.get(int(row.ledger_seq)), stored_payloads)
        last_key, count = (chunk[-1].artifact_id, int(chunk[-1].version)), count + len(chunk)
    return problems, last_key, count


def _entries_by_seq(conn: Connection, seqs: list[int]) -> dict[int, CreateRef | None]:
    rows = conn.execute(select(L).where(L.c.seq.in_(seqs))).all()
    return {int(r.seq): _create_ref(r) for r in rows}


def _create_ref(row: Any) -> CreateRef | None:
    """The CREATE this entry records, or None when it records anything else."""
    if row.operation != "CREATE" or row.decision != "ALLOW" or row.artifact_id is None or row.version is None:
        return None
    try:
        details = json.loads(row.details)
    except json.JSONDecodeError:
        details = {}
    return CreateRef(
        seq=int(row.seq),
        artifact_id=row.artifact_id,
        version=int(row.version),
        product_id=row.product_id,
        content_hash=row.content_hash,
        metadata_sha256=details.get("metadata_sha256") if isinstance(details, dict) else None,
        provenance_sha256=details.get("provenance_sha256") if isinstance(details, dict) else None,
        recorded_at_us=recorded_time(row),
    )


def _payload_hashes(conn: Connection, hashes: set[str]) -> set[str]:
    return set(conn.execute(select(P.c.content_hash).where(P.c.content_hash.in_(sorted(hashes)))).scalars())


def _version_problems(row: Any, entry: CreateRef | None, stored_payloads: set[str]) -> list[Problem]:
    subject = _subject(row.artifact_id, int(row.version))
    base = {"artifact_id": row.artifact_id, "version": int(row.version), "ledger_seq": int(row.ledger_seq)}
    seen = int(row.created_at_us)
    if entry is None or (entry.artifact_id, entry.version) != (row.artifact_id, int(row.version)):
        evidence = {**base, "entry_records": None if entry is None else f"{entry.artifact_id}@{entry.version}"}
        return [
            Problem(rule, "version_without_entry", subject, evidence, int(row.ledger_seq), row.product_id, seen)
            for rule in (DIRECT_DB_ACCESS, SELECTIVE_OMISSION)
        ]
    problems = [
        Problem(
            DIRECT_DB_ACCESS, "version_differs_from_entry", subject, {**base, **diff}, entry.seq, row.product_id, seen
        )
        for diff in _differences(row, entry)
    ]
    if row.content_hash not in stored_payloads:
        evidence = {**base, "content_hash": row.content_hash}
        problems.append(
            Problem(DIRECT_DB_ACCESS, "payload_missing", subject, evidence, entry.seq, row.product_id, seen)
        )
    return problems


def _differences(row: Any, entry: CreateRef) -> Iterable[dict[str, Any]]:
    pairs = (
        ("product_id", entry.product_id, row.product_id),
        ("content_hash", entry.content_hash, row.content_hash),
        ("metadata_sha256", entry.metadata_sha256, _sha(row.metadata)),
        ("provenance_sha256", entry.provenance_sha256, _sha(row.provenance)),
    )
    for name, expected, found in pairs:
        if expected != found:
            yield {"field": name, "expected": expected, "found": found}


# -- ledger side --------------------------------------------------------------------------------------------


def check_creates(conn: Connection, creates: Sequence[LoggedCreate]) -> list[Problem]:
    """Every allowed CREATE entry has its artifact version, pointing back at this entry."""
    problems: list[Problem] = []
    for chunk in _chunks(creates):
        keys = [(c.artifact_id, c.version) for c in chunk]
        query = select(A.c.artifact_id, A.c.version, A.c.ledger_seq).where(
            tuple_(A.c.artifact_id, A.c.version).in_(keys)
        )
        found = {(r.artifact_id, int(r.version)): int(r.ledger_seq) for r in conn.execute(query)}
        for ref in chunk:
            if found.get((ref.artifact_id, ref.version)) != ref.seq:
                evidence = {
                    "artifact_id": ref.artifact_id,
                    "version": ref.version,
                    "ledger_seq": ref.seq,
                    "version_points_at_seq": found.get((ref.artifact_id, ref.version)),
                }
                subject = _subject(ref.artifact_id, ref.version)
                problems.append(
                    Problem(
                        SELECTIVE_OMISSION,
                        "entry_without_version",
                        subject,
                        evidence,
                        ref.seq,
                        ref.product_id,
                        ref.recorded_at_us,
                    )
                )
    return problems


# -- payloads -----------------------------------------------------------------------------------------------


def check_payloads(
    conn: Connection, after_hash: str | None, limit: int | None
) -> tuple[list[Problem], str | None, int]:
    """Re-hash stored payloads in content-hash order after ``after_hash``; returns (problems, last hash, count)."""
    query = select(P).order_by(P.c.content_hash)
    if after_hash is not None:
        query = query.where(P.c.content_hash > after_hash)
    if limit is not None:
        query = query.limit(limit)
    problems: list[Problem] = []
    last: str | None = None
    count = 0
    for row in conn.execute(query):
        count, last = count + 1, row.content_hash
        data = _as_bytes(row.data)
        found = _sha(data)
        if found != row.content_hash or len(data) != row.size_bytes:
            problems.append(_payload_problem(conn, row, found, len(data)))
    return problems, last, count


def _as_bytes(value: Any) -> bytes:
    # SQLite keeps whatever type an attacker writes (e.g. ``data || x'00'`` turns a BLOB into TEXT).
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def _payload_problem(conn: Connection, row: Any, found: str, size: int) -> Problem:
    users = conn.execute(
        select(A.c.artifact_id, A.c.version, A.c.product_id).where(A.c.content_hash == row.content_hash).limit(20)
    ).all()
    evidence = {
        "expected_hash": row.content_hash,
        "found_hash": found,
        "expected_size": int(row.size_bytes),
        "found_size": size,
        "artifacts": [f"{u.artifact_id}@{u.version}" for u in users],
    }
    product = users[0].product_id if users else None
    return Problem(DIRECT_DB_ACCESS, "payload_altered", f"payload:{row.content_hash}", evidence, None, product)
