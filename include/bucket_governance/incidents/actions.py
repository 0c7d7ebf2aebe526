"""Gate-state actions: place and lift controls (docs/adr/0004), each ALSO a ``GOVERNANCE_ACTION`` ledger entry.

A control row and its ledger entry are written in ONE transaction under the ledger lock, so the gate sees the
control on the very next request (``bucket/state.py`` reads active controls inside each write transaction),
and the ledger is the record of truth: ``placed_seq`` / ``lifted_seq`` point at the entries.

Kinds the gate enforces: ``freeze_actor`` (every request of the actor), ``halt_product`` (writes of that
product only), ``quarantine`` (reads and new versions of the artifact), ``legal_hold`` (DELETE / ERASURE of
the artifact or product — which is also what blocks any retention purge, see ``retention_blocked``),
``throttle`` (writes of the product or artifact beyond ``writes_per_second`` committed in the last second are
refused with ``throttled``, 429; a throttle placed without a rate gets ``DEFAULT_WRITES_PER_SECOND``, stored in
its parameters) and ``pin_policy`` (subject ``policy``: writes decided under any policy but the pinned
``fingerprint`` are refused with ``policy_pinned``, 423 — policy documents are not stored, so the gate cannot
fall back to the approved one and fails closed instead).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from bucket_governance.bucket.gate import DEFAULT_WRITES_PER_SECOND
from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables import gate_controls
from bucket_governance.ledger.chain import EntryDraft
from bucket_governance.ledger.governance import append_governance_action, governance_draft
from bucket_governance.policy import LoadedPolicy

KINDS = ("freeze_actor", "halt_product", "legal_hold", "quarantine", "throttle", "pin_policy")
G = gate_controls.c


@dataclass(frozen=True)
class ControlSpec:
    kind: str
    subject: str
    product_id: str | None = None
    parameters: dict[str, Any] | None = None


@dataclass(frozen=True)
class ActionResult:
    action: str  # place_control | lift_control
    kind: str
    subject: str
    control_id: int
    seq: int
    already: bool = False  # the control was already in that state: nothing new written

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _now() -> int:
    return time.time_ns() // 1000


def _draft(policy: LoadedPolicy, action: str, spec: ControlSpec, actor: str, extra: dict[str, Any]) -> EntryDraft:
    on_artifact = spec.kind in ("quarantine", "legal_hold") and spec.subject != spec.product_id
    return governance_draft(
        action,
        actor_id=actor,
        product_id=spec.product_id,
        policy_fingerprint=policy.fingerprint,
        details={"kind": spec.kind, "subject": spec.subject, **extra},
        artifact_id=spec.subject if on_artifact else None,
    )


def _active(conn: Connection, kind: str, subject: str) -> Any:
    query = select(gate_controls).where(G.kind == kind, G.subject == subject, G.lifted_at_us.is_(None))
    return conn.execute(query.order_by(G.control_id).limit(1)).first()


def place_control(
    engine: Engine, policy: LoadedPolicy, spec: ControlSpec, *, actor: str, reason: str, incident_id: str | None = None
) -> ActionResult:
    """Place a control (idempotent: an identical active control is reported, not duplicated)."""
    if spec.kind not in KINDS:
        raise ValueError(f"unknown control kind {spec.kind!r}")
    if spec.kind == "throttle":  # the rate the gate enforces is always written down with the control
        spec = replace(spec, parameters={"writes_per_second": DEFAULT_WRITES_PER_SECOND, **(spec.parameters or {})})
    with engine.begin() as conn:
        lock_ledger(conn)
        existing = _active(conn, spec.kind, spec.subject)
        if existing is not None:
            return ActionResult(
                "place_control", spec.kind, spec.subject, existing.control_id, existing.placed_seq, True
            )
        at = _now()
        extra = {"reason": reason, "incident_id": incident_id, "parameters": spec.parameters or {}}
        entry = append_governance_action(conn, _draft(policy, "place_control", spec, actor, extra), at)
        result = conn.execute(
            insert(gate_controls).values(
                kind=spec.kind,
                subject=spec.subject,
                reason=reason,
                placed_by=actor,
                placed_at_us=at,
                placed_seq=entry.seq,
                parameters=json.dumps({**(spec.parameters or {}), "incident_id": incident_id}, sort_keys=True),
            )
        )
        control_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return ActionResult("place_control", spec.kind, spec.subject, control_id, entry.seq)


def lift_control(
    engine: Engine, policy: LoadedPolicy, spec: ControlSpec, *, actor: str, reason: str, incident_id: str | None = None
) -> ActionResult | None:
    """Lift the active control of this kind and subject; None when there is none."""
    with engine.begin() as conn:
        lock_ledger(conn)
        existing = _active(conn, spec.kind, spec.subject)
        if existing is None:
            return None
        at = _now()
        extra = {"reason": reason, "incident_id": incident_id, "control_id": existing.control_id}
        entry = append_governance_action(conn, _draft(policy, "lift_control", spec, actor, extra), at)
        conn.execute(
            update(gate_controls)
            .where(G.control_id == existing.control_id)
            .values(lifted_by=actor, lifted_at_us=at, lifted_seq=entry.seq)
        )
    return ActionResult("lift_control", spec.kind, spec.subject, int(existing.control_id), entry.seq)


def active_controls(conn: Connection, subjects: list[str] | None = None) -> list[dict[str, Any]]:
    query = select(gate_controls).where(G.lifted_at_us.is_(None)).order_by(G.control_id)
    if subjects is not None:
        query = query.where(G.subject.in_(subjects))
    return [dict(r._mapping) for r in conn.execute(query)]


def retention_blocked(conn: Connection, artifact_id: str, product_id: str) -> bool:
    """True while a legal hold stands on the artifact or its product: retention must not purge it.

    The Bucket never deletes; a retention purge is a DELETE/ERASURE request through the gate, which refuses
    it with ``legal_hold`` under a hold. A purge job asks this first so it does not even submit the request.
    """
    query = select(G.control_id).where(
        G.kind == "legal_hold", G.subject.in_([artifact_id, product_id]), G.lifted_at_us.is_(None)
    )
    return conn.execute(query.limit(1)).first() is not None


def record_action(
    engine: Engine, policy: LoadedPolicy, action: str, *, actor: str, product_id: str | None, details: dict[str, Any]
) -> int:
    """A governance action that changes no gate state (a decision, an evidence anchor): a ledger entry only."""
    draft = governance_draft(
        action, actor_id=actor, product_id=product_id, policy_fingerprint=policy.fingerprint, details=details
    )
    with engine.begin() as conn:
        lock_ledger(conn)
        return append_governance_action(conn, draft, _now()).seq
