"""Policy approvals: which policy fingerprint was last approved, recorded as ledger entries.

An approval is a ``GOVERNANCE_ACTION`` entry with details ``{"action": "approve_policy", "fingerprint": …}``.
Approvals carry no product (the policy is global), so they are found through the ``(product_id, recorded_at_us)``
index among the few product-less entries — looking up "the last approval" costs the same on any ledger size.
``T5.emergency_hotfix`` compares the fingerprint every request was decided under with the last approval before it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, select

from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables import ledger_entries
from bucket_governance.ledger.governance import append_governance_action, governance_draft
from bucket_governance.policy import ActorKind, LoadedPolicy, Operation

L = ledger_entries.c
APPROVE_ACTION = "approve_policy"
BOOTSTRAP_BASIS = "bootstrap: the policy the deployment was initialised with"


def approval_entry() -> ColumnElement[bool]:
    """An allowed policy approval. Details are canonical JSON (no spaces), so the quoted match is exact."""
    return and_(
        L.product_id.is_(None),
        L.operation == Operation.GOVERNANCE_ACTION.value,
        L.decision == "ALLOW",
        L.details.like(f'%"action":"{APPROVE_ACTION}"%'),
    )


@dataclass(frozen=True)
class Approval:
    seq: int
    recorded_at_us: int
    fingerprint: str
    actor_id: str | None


@dataclass(frozen=True)
class ApprovalOutcome:
    fingerprint: str
    recorded: bool  # False when this fingerprint already was the last approved one
    seq: int | None
    refusal: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "recorded": self.recorded, "seq": self.seq, "refusal": self.refusal}


def last_approval(conn: Connection, before_us: int | None = None) -> Approval | None:
    """The newest policy approval (recorded before ``before_us`` if given), or None if there never was one."""
    query = select(L.seq, L.recorded_at_us, L.actor_id, L.details).where(approval_entry())
    if before_us is not None:
        query = query.where(L.recorded_at_us < before_us)
    row = conn.execute(query.order_by(L.recorded_at_us.desc(), L.seq.desc()).limit(1)).first()
    return None if row is None else approval_from_row(row)


def approvals_between(conn: Connection, start_us: int, end_us: int) -> list[Approval]:
    """Policy approvals recorded in [start_us, end_us), in ledger order."""
    query = select(L.seq, L.recorded_at_us, L.actor_id, L.details).where(
        approval_entry(), L.recorded_at_us >= start_us, L.recorded_at_us < end_us
    )
    return [approval_from_row(r) for r in conn.execute(query.order_by(L.seq))]


def approval_from_row(row: Any) -> Approval:
    return Approval(row.seq, row.recorded_at_us, str(json.loads(row.details)["fingerprint"]), row.actor_id)


def approve_policy(
    engine: Engine,
    policy: LoadedPolicy,
    actor_id: str | None,
    *,
    now_us: int | None = None,
    basis: str | None = None,
) -> ApprovalOutcome:
    """Record ``actor_id``'s approval of the policy in force (its fingerprint) as a ledger entry.

    ``actor_id`` None is the bootstrap approval (``init``, the demo); otherwise the approver must be an
    actor of kind owner — a refusal is recorded as a denied entry all the same, like any request.
    """
    at_us = now_us if now_us is not None else time.time_ns() // 1000
    refusal = _refusal(policy, actor_id)
    with engine.begin() as conn:
        lock_ledger(conn)
        previous = last_approval(conn)
        if refusal is None and previous is not None and previous.fingerprint == policy.fingerprint:
            return ApprovalOutcome(policy.fingerprint, recorded=False, seq=previous.seq)
        details: dict[str, Any] = {"fingerprint": policy.fingerprint}
        if basis:
            details["basis"] = basis
        if previous is not None:
            details["previous_fingerprint"] = previous.fingerprint
        draft = governance_draft(
            APPROVE_ACTION,
            actor_id=actor_id,
            product_id=None,
            policy_fingerprint=policy.fingerprint,
            details=details,
            refusal=refusal,
        )
        entry = append_governance_action(conn, draft, at_us)
    return ApprovalOutcome(policy.fingerprint, recorded=refusal is None, seq=entry.seq, refusal=refusal)


def approve_initial_policy(engine: Engine, policy: LoadedPolicy, *, now_us: int | None = None) -> ApprovalOutcome:
    """The bootstrap approval: record the policy in force as approved when no approval exists yet."""
    with engine.connect() as conn:
        existing = last_approval(conn)
    if existing is not None:
        return ApprovalOutcome(existing.fingerprint, recorded=False, seq=existing.seq)
    return approve_policy(engine, policy, None, now_us=now_us, basis=BOOTSTRAP_BASIS)


def _refusal(policy: LoadedPolicy, actor_id: str | None) -> str | None:
    if actor_id is None:
        return None
    actor = policy.actors.get(actor_id)
    if actor is None:
        return "actor_unknown"
    return None if actor.kind is ActorKind.OWNER else "approver_not_owner"
