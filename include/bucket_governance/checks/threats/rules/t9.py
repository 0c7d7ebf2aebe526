"""T9 Legal ownership challenge.

``T9.ambiguous_owner`` and ``T2.forged_owner`` split owner problems by whether the owner id names a real actor:
an owner id that is empty or not an actor of the policy is *ambiguous* (nobody can answer for the artifact); a
real actor who is not an owner of the product is *forged*. A retention is "stated" when a writer puts
``retention_days`` in a version's metadata, or a DELETE/ERASURE request carries it; the policy's own retention
(class ``retention_days``, else ``limits.retention.artifact_default_days``) is suspended by a legal hold by design
(the gate refuses removal under hold), so it never conflicts by itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from bucket_governance.checks.threats.context import US_PER_DAY, Hit, RuleContext
from bucket_governance.checks.threats.evidence import SubjectHits
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions, gate_controls

A = artifact_versions.c
G = gate_controls.c
PROVEN_BY = "tests/unit/threats/test_t9.py"
REMOVAL_OPERATIONS = ("DELETE", "ERASURE")
RETENTION_KEY = "retention_days"


def stored_in_window(context: RuleContext, *conditions: Any) -> Select[Any]:
    """Artifact versions the server recorded in the window (whatever door they came through)."""
    return select(
        A.artifact_id,
        A.version,
        A.product_id,
        A.artifact_class,
        A.owner_id,
        A.created_by,
        A.created_at_us,
        A.ledger_seq,
        A.metadata,
        A.provenance,
    ).where(A.created_at_us >= context.window_start_us, A.created_at_us < context.window_end_us, *conditions)


def version_key(row: Any) -> str:
    return f"version:{row.artifact_id}:{row.version}"


def _details(row: Any) -> dict[str, Any]:
    parsed = json.loads(row.details) if row.details else {}
    return parsed if isinstance(parsed, dict) else {}


# -- T9.deletion_dispute -------------------------------------------------------------------------------------


@rule(
    "T9.deletion_dispute",
    "a DELETE or ERASURE request by an actor who is not the artifact's owner (gate reason not_artifact_owner)",
    proven_by=PROVEN_BY,
)
def deletion_dispute(context: RuleContext) -> Iterable[Hit]:
    found = SubjectHits({"reason_code": "not_artifact_owner"})
    query = ledger_in_window(context, L.c.operation.in_(REMOVAL_OPERATIONS), reason_is("not_artifact_owner"))
    for row in context.conn.execute(query):
        item = {"seq": row.seq, "operation": row.operation, "artifact_id": row.artifact_id}
        found.add(str(row.actor_id), row.product_id, row.recorded_at_us, "requests", item, f"seq:{row.seq}")
    return found.hits()


# -- T9.ambiguous_owner --------------------------------------------------------------------------------------


@rule(
    "T9.ambiguous_owner",
    "an owner id that is empty or names no actor of the policy, refused at the gate or stored anyway "
    "(a real actor who is not an owner of the product is T2.forged_owner instead)",
    proven_by=PROVEN_BY,
)
def ambiguous_owner(context: RuleContext) -> Iterable[Hit]:
    known = sorted(context.policy.actors)
    found = SubjectHits({"known_actors": len(known)})
    for row in context.conn.execute(stored_in_window(context, A.owner_id.not_in(known))):
        item = {"artifact_id": row.artifact_id, "version": row.version, "owner_id": row.owner_id}
        found.add(row.artifact_id, row.product_id, row.created_at_us, "stored", item, version_key(row))
    refused = ledger_in_window(context, L.c.operation == "CREATE", reason_is("owner_not_of_product"))
    for row in context.conn.execute(refused.add_columns(L.c.details)):
        owner = _details(row).get("owner_id")
        if isinstance(owner, str) and owner in context.policy.actors:
            continue  # a real actor: T2.forged_owner's case
        item = {"seq": row.seq, "owner_id": owner, "actor_id": row.actor_id}
        found.add(str(row.artifact_id), row.product_id, row.recorded_at_us, "refused", item, f"seq:{row.seq}")
    return found.hits()


# -- T9.conflicting_retention --------------------------------------------------------------------------------


@rule(
    "T9.conflicting_retention",
    "a stated retention that ends while a legal hold stands or is shorter than the audit retention: a "
    "retention-driven DELETE/ERASURE refused by a legal hold, or metadata.retention_days on a stored version",
    proven_by=PROVEN_BY,
    thresholds=("limits.retention.audit_days",),
)
def conflicting_retention(context: RuleContext) -> Iterable[Hit]:
    audit_days = context.policy.limits.retention.audit_days
    found = SubjectHits({"audit_retention_days": audit_days})
    _removals_under_hold(context, found)
    _stated_retentions(context, found, audit_days)
    return found.hits()


def _removals_under_hold(context: RuleContext, found: SubjectHits) -> None:
    """The owner's (or a retention job's) removal refused because a hold stands: retention ended under the hold.

    A non-owner's request under hold is a dispute (T9.deletion_dispute), not a retention conflict.
    """
    query = ledger_in_window(
        context,
        L.c.operation.in_(REMOVAL_OPERATIONS),
        reason_is("legal_hold"),
        ~reason_is("not_artifact_owner"),
    ).add_columns(L.c.details)
    for row in context.conn.execute(query):
        item = {"seq": row.seq, "operation": row.operation, "actor_id": row.actor_id, "conflict": "removal_under_hold"}
        stated = _details(row).get(RETENTION_KEY)
        if _days(stated) is not None:
            item[RETENTION_KEY] = stated
        found.add(str(row.artifact_id), row.product_id, row.recorded_at_us, "refused", item, f"seq:{row.seq}")


def _stated_retentions(context: RuleContext, found: SubjectHits, audit_days: int) -> None:
    """Versions of the window whose metadata states a retention; only those rows are parsed."""
    rows = list(context.conn.execute(stored_in_window(context, A.metadata.like(f'%"{RETENTION_KEY}"%'))))
    holds = _holds(context, {r.artifact_id for r in rows} | {r.product_id for r in rows})
    for row in rows:
        metadata = json.loads(row.metadata)
        days = _days(metadata.get(RETENTION_KEY)) if isinstance(metadata, dict) else None
        if days is None:
            continue
        ends_us = row.created_at_us + days * US_PER_DAY
        conflicts = ["shorter_than_audit_retention"] if days < audit_days else []
        standing = [h for h in holds if h.subject in (row.artifact_id, row.product_id) and _stands_at(h, ends_us)]
        if standing:
            conflicts.append("ends_during_legal_hold")
        if conflicts:
            item = {
                "artifact_id": row.artifact_id,
                "version": row.version,
                RETENTION_KEY: days,
                "retention_ends_us": ends_us,
                "conflicts": conflicts,
                "legal_hold_seqs": [h.placed_seq for h in standing],
            }
            found.add(row.artifact_id, row.product_id, row.created_at_us, "stored", item, version_key(row))


def _days(value: Any) -> int | None:
    """A stated retention is a positive whole number of days; anything else states nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _holds(context: RuleContext, subjects: set[str]) -> list[Any]:
    """Legal holds on these artifacts or products known at the window's end (placed before it)."""
    if not subjects:
        return []
    query = select(G.subject, G.placed_at_us, G.placed_seq, G.lifted_at_us).where(
        G.kind == "legal_hold", G.subject.in_(sorted(subjects)), G.placed_at_us < context.window_end_us
    )
    return list(context.conn.execute(query))


def _stands_at(hold: Any, at_us: int) -> bool:
    return bool(hold.placed_at_us <= at_us and (hold.lifted_at_us is None or hold.lifted_at_us > at_us))
