"""Incident records: open (or attach to the open one), timeline events, status, decision, close."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from bucket_governance.db.tables_incidents import incident_events, incidents
from bucket_governance.errors import NotFoundError
from bucket_governance.incidents.inputs import Form
from bucket_governance.incidents.registry import Playbook, effective_deadline

if TYPE_CHECKING:
    from bucket_governance.policy import LoadedPolicy

INC, EV = incidents.c, incident_events.c


def now_us() -> int:
    return time.time_ns() // 1000


def open_incident(engine: Engine, playbook: Playbook, form: Form, *, actor: str) -> tuple[str, bool]:
    """(incident_id, attached): a new incident, or the open one of this playbook + subject, which it joins."""
    subject = playbook.subject(form)
    key = f"{playbook.playbook_id}:{subject}"
    at = now_us()
    with engine.begin() as conn:
        existing = conn.execute(select(INC.incident_id).where(INC.open_key == key)).scalar()
        if existing is not None:
            conn.execute(
                update(incidents)
                .where(INC.incident_id == existing)
                .values(trigger_count=INC.trigger_count + 1, updated_at_us=at)
            )
            append_event(conn, existing, at, actor, "attached", {"form": form.model_dump(mode="json")})
            return str(existing), True
        incident_id = "INC-" + hashlib.sha256(f"{key}\x1f{at}".encode()).hexdigest()[:12]
        deadline = effective_deadline(playbook, form)
        conn.execute(
            insert(incidents).values(
                incident_id=incident_id, playbook=playbook.playbook_id, subject=subject, open_key=key,
                status="open", opened_by=actor, opened_at_us=at, updated_at_us=at,
                escalation_role=playbook.escalation_role,
                escalation_due_us=None if deadline is None else at + int(deadline.total_seconds() * 1_000_000),
                trigger_count=1, inputs=json.dumps(form.model_dump(mode="json"), sort_keys=True),
            )
        )  # fmt: skip
        append_event(conn, incident_id, at, actor, "opened", {"form": form.model_dump(mode="json")})
    return incident_id, False


def append_event(
    conn: Connection, incident_id: str, at: int, actor: str, step: str, detail: dict[str, Any], seq: int | None = None
) -> None:
    """One timeline step inside the caller's transaction."""
    conn.execute(
        insert(incident_events).values(
            incident_id=incident_id, at_us=at, actor=actor, step=step,
            detail=json.dumps(detail, sort_keys=True, default=str), ledger_seq=seq,
        )
    )  # fmt: skip


def add_event(
    engine: Engine,
    incident_id: str,
    step: str,
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    seq: int | None = None,
    status: str | None = None,
    **values: Any,
) -> None:
    """Append a timeline step (and optionally move the status / set columns) in one transaction."""
    at = now_us()
    with engine.begin() as conn:
        append_event(conn, incident_id, at, actor, step, detail or {}, seq)
        changes: dict[str, Any] = {"updated_at_us": at, **values}
        if status is not None:
            changes["status"] = status
        if status == "closed":
            changes.update(closed_at_us=at, open_key=None)
        conn.execute(update(incidents).where(INC.incident_id == incident_id).values(changes))


def get_incident(conn: Connection, incident_id: str) -> dict[str, Any]:
    row = conn.execute(select(incidents).where(INC.incident_id == incident_id)).first()
    if row is None:
        raise NotFoundError(
            "incident_not_found", f"there is no incident {incident_id!r}: see `bucket-gov incident list`"
        )
    doc = _doc(row)
    events = conn.execute(select(incident_events).where(EV.incident_id == incident_id).order_by(EV.event_id))
    doc["timeline"] = [
        {"at_us": e.at_us, "actor": e.actor, "step": e.step, "detail": json.loads(e.detail), "ledger_seq": e.ledger_seq}
        for e in events
    ]
    doc["finding_ids"] = finding_ids(doc)
    return doc


def finding_ids(incident: dict[str, Any]) -> list[str]:
    """Every finding the incident covers: its form's, then those attached later (triggers and pipeline runs)."""
    forms = [incident["inputs"]]
    for event in incident["timeline"]:
        if event["step"] in ("attached", "finding_attached"):
            forms += [event["detail"].get("form") or {}, event["detail"]]
    found: list[str] = []
    for form in forms:
        found += [form["finding_id"]] if form.get("finding_id") else []
        found += list(form.get("finding_ids") or ())
    return list(dict.fromkeys(found))


def attach_findings(engine: Engine, incident_id: str, ids: list[str], *, actor: str, field: str) -> None:
    """Record results that call for an incident already open (no new run): ``field`` is ``finding_ids`` or
    ``sources`` (a capacity run's verdict)."""
    with engine.begin() as conn:
        append_event(conn, incident_id, now_us(), actor, "finding_attached", {field: ids})
        conn.execute(update(incidents).where(INC.incident_id == incident_id).values(updated_at_us=now_us()))


def _doc(row: Any) -> dict[str, Any]:
    doc = dict(row._mapping)
    doc.pop("open_key", None)
    doc["inputs"] = json.loads(doc["inputs"])
    doc["decision"] = json.loads(doc["decision"]) if doc["decision"] else None
    return doc


def list_incidents(
    conn: Connection, *, playbook: str | None = None, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(incidents).order_by(INC.opened_at_us.desc()).limit(limit)
    if playbook:
        query = query.where(INC.playbook == playbook.upper())
    if status == "open":
        query = query.where(INC.status != "closed")
    elif status:
        query = query.where(INC.status == status)
    return [_doc(r) for r in conn.execute(query)]


def open_incident_for(conn: Connection, playbook_id: str, subject: str) -> str | None:
    return conn.execute(select(INC.incident_id).where(INC.open_key == f"{playbook_id}:{subject}")).scalar()


def incident_products(incident: dict[str, Any], policy: LoadedPolicy, conn: Connection) -> set[str]:
    """The products an incident concerns, read from its validated form: product ids named directly, the
    product of a named actor, and the products of named artifacts. An API caller sees an incident only when
    it reads one of these products."""
    from bucket_governance.db.tables import artifact_versions

    inputs = incident["inputs"]
    products = {inputs["product_id"]} if isinstance(inputs.get("product_id"), str) else set()
    products |= {p for p in inputs.get("product_ids") or () if isinstance(p, str)}
    actor = policy.actors.get(str(inputs.get("actor_id")))
    if actor is not None and actor.product:
        products.add(actor.product)
    artifact_ids = [a for a in inputs.get("artifact_ids") or () if isinstance(a, str)]
    if artifact_ids:
        query = select(artifact_versions.c.product_id).where(artifact_versions.c.artifact_id.in_(artifact_ids))
        products |= set(conn.execute(query.distinct()).scalars())
    return products & set(policy.products)
