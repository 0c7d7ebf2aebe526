"""Re-escalation of overdue incidents: the escalation timers of SPEC §3, acted on.

An incident is overdue when it still waits for its human decision (status ``open``, ``contained`` or
``awaiting_decision``) and its ``escalation_due_us`` has passed. ``escalate_overdue`` then, per incident:

1. records an ``escalated`` timeline step (actor ``governance.escalation``, ``overdue: true``, the deadline
   that passed and the escalation level — 2 for the first re-escalation after the playbook's own one);
2. moves the deadline to ``now + repeat period``: the playbook's deadline again (F8 warning: 6 h), but at
   least ``REPEAT_FLOOR`` (15 minutes, the sweep's schedule), so "immediate" deadlines (F8 critical, F9) are
   re-escalated every quarter of an hour, not at every sweep;
3. calls the notifier with the escalation (after the commit: the database is the record).

Steps 1 and 2 are one transaction whose UPDATE is conditioned on the deadline it read, so a second sweep —
or two sweeps racing — never escalates the same deadline twice. The role stays the playbook's escalation
role; SPEC §3 names no higher one. Playbooks without a deadline (F10) are never overdue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update

from bucket_governance.db.tables_incidents import incident_events, incidents
from bucket_governance.incidents.records import append_event
from bucket_governance.incidents.registry import PLAYBOOKS, effective_deadline

log = logging.getLogger(__name__)
ESCALATION_ACTOR = "governance.escalation"
WAITING = ("open", "contained", "awaiting_decision")  # no human decision yet
REPEAT_FLOOR = timedelta(minutes=15)
Notifier = Callable[[dict[str, Any]], None]
INC, EV = incidents.c, incident_events.c


def overdue_ids(engine: Engine, now_us: int) -> list[str]:
    query = select(INC.incident_id).where(
        INC.status.in_(WAITING), INC.escalation_due_us.is_not(None), INC.escalation_due_us <= now_us
    )
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(INC.escalation_due_us, INC.incident_id)).scalars())


def repeat_period_us(playbook_id: str, inputs: dict[str, Any]) -> int:
    playbook = PLAYBOOKS[playbook_id]
    deadline = effective_deadline(playbook, playbook.form.model_validate(inputs)) or REPEAT_FLOOR
    return int(max(deadline, REPEAT_FLOOR).total_seconds() * 1_000_000)


def _escalate_one(engine: Engine, incident_id: str, now_us: int, channels: list[str]) -> dict[str, Any] | None:
    """Escalate one overdue incident; None when another sweep got there first (or it is no longer overdue)."""
    with engine.begin() as conn:
        row = conn.execute(select(incidents).where(INC.incident_id == incident_id)).one()
        if row.status not in WAITING or row.escalation_due_us is None or row.escalation_due_us > now_us:
            return None
        next_due = now_us + repeat_period_us(row.playbook, json.loads(row.inputs))
        moved = conn.execute(
            update(incidents)
            .where(INC.incident_id == incident_id, INC.escalation_due_us == row.escalation_due_us)
            .values(escalation_due_us=next_due, escalated_at_us=now_us, updated_at_us=now_us)
        )
        if moved.rowcount != 1:
            return None
        count = select(func.count()).where(EV.incident_id == incident_id, EV.step == "escalated")
        level = int(conn.execute(count).scalar_one()) + 1
        playbook = PLAYBOOKS[row.playbook]
        detail = {
            "incident_id": incident_id, "playbook": row.playbook, "subject": row.subject, "overdue": True,
            "role": row.escalation_role, "level": level, "was_due_us": row.escalation_due_us,
            "due_us": next_due, "channels": channels,
            "message": f"[{row.playbook}] OVERDUE {playbook.title}: {row.subject} — incident {incident_id} still "
            f"awaits its decision ({playbook.decision.question}); re-escalated to {row.escalation_role} "
            f"(level {level}, {playbook.escalation_text})",
        }  # fmt: skip
        append_event(conn, incident_id, now_us, ESCALATION_ACTOR, "escalated", detail)
    return detail


def escalate_overdue(
    engine: Engine, now_us: int, notifier: Notifier, *, channels: list[str] | None = None
) -> list[dict[str, Any]]:
    """Re-escalate every incident overdue at ``now_us`` once (see the module doc); returns the escalations."""
    done = []
    for incident_id in overdue_ids(engine, now_us):
        detail = _escalate_one(engine, incident_id, now_us, channels or ["log", "database"])
        if detail is None:
            continue
        log.warning("ESCALATION %s", detail["message"])
        notifier(detail)
        done.append(detail)
    return done
