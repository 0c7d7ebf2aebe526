"""Append to and verify the hash-chained ledger.

Appends must run inside a transaction that holds the ledger lock (``db.lock_ledger``): the head is read
and extended under that lock, so concurrent writers can neither fork the chain nor leave a gap — and the
``prev_hash`` UNIQUE constraint makes a fork impossible even if a caller forgot the lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from bucket_governance.db.tables import ledger_entries
from bucket_governance.ledger.canonical import GENESIS_HASH, LedgerEntry, chain_hash


@dataclass(frozen=True)
class EntryDraft:
    """An entry before the ledger gives it a sequence number and a time."""

    operation: str
    decision: str
    reasons: tuple[str, ...]
    actor_id: str | None
    integration_id: str | None
    product_id: str | None
    policy_fingerprint: str
    artifact_id: str | None = None
    version: int | None = None
    content_hash: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class AppendedEntry:
    seq: int
    entry_hash: str
    recorded_at_us: int


_HEAD = select(ledger_entries.c.seq, ledger_entries.c.entry_hash).order_by(ledger_entries.c.seq.desc()).limit(1)


def ledger_head(conn: Connection) -> tuple[int, str]:
    """(last sequence number, its hash); (0, genesis) for an empty ledger."""
    row = conn.execute(_HEAD).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.entry_hash))


def append_entries(
    conn: Connection, drafts: Sequence[EntryDraft], times_us: Sequence[int], head: tuple[int, str] | None = None
) -> list[AppendedEntry]:
    """Chain ``drafts`` after the head in one executemany; the caller holds the ledger lock.

    ``head`` may be passed when the caller already read it under the same lock (saves a round trip).
    """
    rows, appended = chain_rows(drafts, times_us, head if head is not None else ledger_head(conn))
    if rows:
        conn.execute(insert(ledger_entries), rows)
    return appended


def chain_rows(
    drafts: Sequence[EntryDraft], times_us: Sequence[int], head: tuple[int, str]
) -> tuple[list[dict[str, Any]], list[AppendedEntry]]:
    """The ``ledger_entries`` rows chaining ``drafts`` after ``head``, not yet written.

    For a caller that writes them together with other rows (one round trip); it must hold the ledger lock
    from reading ``head`` until it commits, exactly as for :func:`append_entries`.
    """
    seq, prev_hash = head
    rows: list[dict[str, Any]] = []
    appended: list[AppendedEntry] = []
    for draft, recorded_at_us in zip(drafts, times_us, strict=True):
        seq += 1
        entry = _entry_from_draft(draft, seq, recorded_at_us)
        canonical, reasons_json, details_json = entry.canonical_parts()
        entry_hash = chain_hash(prev_hash, canonical)
        rows.append(_row(entry, prev_hash, entry_hash, reasons_json, details_json))
        appended.append(AppendedEntry(seq, entry_hash, recorded_at_us))
        prev_hash = entry_hash
    return rows, appended


def _entry_from_draft(draft: EntryDraft, seq: int, recorded_at_us: int) -> LedgerEntry:
    return LedgerEntry(
        seq=seq,
        recorded_at_us=recorded_at_us,
        operation=draft.operation,
        decision=draft.decision,
        reasons=draft.reasons,
        actor_id=draft.actor_id,
        integration_id=draft.integration_id,
        product_id=draft.product_id,
        artifact_id=draft.artifact_id,
        version=draft.version,
        content_hash=draft.content_hash,
        policy_fingerprint=draft.policy_fingerprint,
        details=draft.details or {},
    )


def _row(entry: LedgerEntry, prev_hash: str, entry_hash: str, reasons_json: str, details_json: str) -> dict[str, Any]:
    # Spelled out rather than walking the dataclass fields: this runs once per ledger entry written.
    return {
        "seq": entry.seq,
        "prev_hash": prev_hash,
        "entry_hash": entry_hash,
        "recorded_at_us": entry.recorded_at_us,
        "operation": entry.operation,
        "decision": entry.decision,
        "reasons": reasons_json,  # the same serialisations the entry hash covers
        "actor_id": entry.actor_id,
        "integration_id": entry.integration_id,
        "product_id": entry.product_id,
        "artifact_id": entry.artifact_id,
        "version": entry.version,
        "content_hash": entry.content_hash,
        "policy_fingerprint": entry.policy_fingerprint,
        "details": details_json,
    }


def entry_from_row(row: Any) -> LedgerEntry:
    """Rebuild the entry from its stored columns — the verifier hashes what is stored, not what was meant."""
    return LedgerEntry(
        seq=row.seq,
        recorded_at_us=row.recorded_at_us,
        operation=row.operation,
        decision=row.decision,
        reasons=tuple(json.loads(row.reasons)),
        actor_id=row.actor_id,
        integration_id=row.integration_id,
        product_id=row.product_id,
        artifact_id=row.artifact_id,
        version=row.version,
        content_hash=row.content_hash,
        policy_fingerprint=row.policy_fingerprint,
        details=json.loads(row.details),
    )


def iter_rows(conn: Connection, after_seq: int = 0, batch: int = 5000) -> Iterator[Any]:
    """Stream ledger rows in sequence order, in keyset-paginated batches (constant memory)."""
    while True:
        rows = conn.execute(
            select(ledger_entries).where(ledger_entries.c.seq > after_seq).order_by(ledger_entries.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after_seq = rows[-1].seq
