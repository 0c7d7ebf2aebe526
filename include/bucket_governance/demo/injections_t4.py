"""Concurrent-write incidents (T4): three editors racing on one lesson, and a version number skipped.

Both act on a lesson of their own, never on one of the clean history's: the clean history would later revise
its lessons from the version it knows and be refused. (T4.version_conflict's incident is
``version_conflict_burst`` in ``demo.injections``.)

The skipped version is a broken constraint, which the gate cannot produce: it is written around the gate by
a privileged writer who also appends a well-formed, hash-chained ledger entry for it, so the ledger and the
artifact agree (no T5/T8 finding) and only the version numbering is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables import artifact_versions, payloads, product_usage
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import injection
from bucket_governance.ledger.canonical import sha256_hex
from bucket_governance.ledger.chain import EntryDraft, append_entries, ledger_head

EDITORS = ("gurukul.engineer", "gurukul.owner", "gurukul.executor")
SKIPPED_TO = 3  # the forged version: version 2 never exists


def _lesson(ctx: InjectionContext, artifact_id: str, actor: str, expected: int | None, text: str) -> CreateRequest:
    return CreateRequest(
        actor_id=actor,
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_class="ContentArtifact",
        owner_id="gurukul.owner",
        artifact_id=artifact_id,
        expected_version=expected,
        payload=json.dumps({"body": text}, sort_keys=True).encode(),
        metadata=ctx.latest_metadata("gurukul"),
        provenance={"source": "gurukul.authoring", "intent": "publish a lesson revision", "parents": []},
        claimed_at_us=ctx.last_time_us,
    )


@injection(
    "parallel_lesson_edits",
    rule_id="T4.concurrent_writes",
    description="three gurukul editors each commit a version of one new lesson within two seconds",
    day_fraction=0.78,
    hour_utc=0,
    expected_decision="ALLOW",
)
def _parallel_lesson_edits(ctx: InjectionContext) -> InjectionTarget:
    artifact_id = "gurukul-parallel-0001"
    for n, editor in enumerate(EDITORS):
        ctx.create(_lesson(ctx, artifact_id, editor, n or None, f"revision by {editor}")).raise_if_denied()
    return InjectionTarget("gurukul", artifact_id, "artifact")


@injection(
    "skipped_version",
    rule_id="T4.race_condition",
    description="a lesson jumps from version 1 to version 3: a row (with its own well-formed ledger entry) "
    "written around the gate by a privileged writer",
    day_fraction=0.93,
    hour_utc=18,
    expected_decision="NONE",
)
def _skipped_version(ctx: InjectionContext) -> InjectionTarget:
    artifact_id = "gurukul-skipped-0001"
    ctx.create(_lesson(ctx, artifact_id, "gurukul.engineer", None, "first draft"), setup=True).raise_if_denied()
    request = _lesson(ctx, artifact_id, "gurukul.engineer", None, "third draft")
    at_us = ctx.record_direct(artifact_ids=(artifact_id,))
    with ctx.engine.begin() as conn:
        lock_ledger(conn)
        ctx.direct_seqs.append(_write_around_the_gate(conn, ctx, request, at_us))
    return InjectionTarget("gurukul", artifact_id, "artifact")


def _write_around_the_gate(conn: Connection, ctx: InjectionContext, request: CreateRequest, at_us: int) -> int:
    """What the store would write for an allowed CREATE — entry, payload, version row, usage — but for a
    version number the gate would never hand out."""
    payload = request.payload or b""
    metadata_json = json.dumps(request.metadata, sort_keys=True, separators=(",", ":"))
    provenance_json = json.dumps(request.provenance, sort_keys=True, separators=(",", ":"))
    content_hash = sha256_hex(payload)
    details: dict[str, Any] = {
        "artifact_class": request.artifact_class,
        "owner_id": request.owner_id,
        "size_bytes": len(payload),
        "metadata_sha256": sha256_hex(metadata_json.encode()),
        "provenance_sha256": sha256_hex(provenance_json.encode()),
        "claimed_at_us": request.claimed_at_us,
        "schema_version": request.schema_version,
        "reference_url": None,
        "expected_version": SKIPPED_TO - 1,
    }
    draft = EntryDraft(
        operation="CREATE",
        decision="ALLOW",
        reasons=(),
        actor_id=request.actor_id,
        integration_id=request.integration_id,
        product_id=request.product_id,
        policy_fingerprint=ctx.policy.fingerprint,
        artifact_id=request.artifact_id,
        version=SKIPPED_TO,
        content_hash=content_hash,
        details=details,
    )
    (entry,) = append_entries(conn, [draft], [at_us], head=ledger_head(conn))
    if conn.execute(select(payloads.c.content_hash).where(payloads.c.content_hash == content_hash)).first() is None:
        conn.execute(insert(payloads).values(content_hash=content_hash, size_bytes=len(payload), data=payload))
    conn.execute(
        insert(artifact_versions).values(
            artifact_id=request.artifact_id,
            version=SKIPPED_TO,
            product_id=request.product_id,
            artifact_class=request.artifact_class,
            owner_id=request.owner_id,
            created_by=request.actor_id,
            integration_id=request.integration_id,
            created_at_us=entry.recorded_at_us,
            claimed_at_us=request.claimed_at_us,
            content_hash=content_hash,
            size_bytes=len(payload),
            reference_url=None,
            metadata=metadata_json,
            provenance=provenance_json,
            schema_version=request.schema_version,
            ledger_seq=entry.seq,
        )
    )
    usage = product_usage.c
    conn.execute(
        update(product_usage)
        .where(usage.product_id == request.product_id)
        .values(bytes_stored=usage.bytes_stored + len(payload), artifact_versions=usage.artifact_versions + 1)
    )
    return entry.seq
