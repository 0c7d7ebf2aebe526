"""Automatic starts: a critical finding → its playbook's DAG with a prefilled form, de-duplicated.

A finding is not started again when an open incident of that playbook + subject exists, or when an earlier
incident was already started by this very finding (a rerun of the scan window). The DAG run id is derived
from the finding (``autostart__<finding_id>``), so a trigger that is queued but not yet run is not doubled
either; and should two runs still race, the second attaches to the first's incident.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, select

from bucket_governance.db.tables import ledger_entries
from bucket_governance.db.tables_incidents import incidents
from bucket_governance.incidents.records import open_incident_for
from bucket_governance.incidents.registry import PLAYBOOKS
from bucket_governance.policy import LoadedPolicy

log = logging.getLogger(__name__)


def _seqs(finding: dict[str, Any]) -> list[int]:
    keys = (finding.get("evidence") or {}).get("occurrence_keys") or []
    return [int(k[4:]) for k in keys if isinstance(k, str) and k.startswith("seq:") and k[4:].isdigit()]


def _actor(conn: Connection, policy: LoadedPolicy, finding: dict[str, Any]) -> str | None:
    """The actor a finding is about: its subject, else the actor of its first ledger occurrence."""
    if finding["subject"] in policy.actors:
        return str(finding["subject"])
    for seq in _seqs(finding)[:20]:
        actor = conn.execute(select(ledger_entries.c.actor_id).where(ledger_entries.c.seq == seq)).scalar()
        if actor in policy.actors:
            return str(actor)
    return None


def form_for(conn: Connection, policy: LoadedPolicy, finding: dict[str, Any]) -> dict[str, Any] | None:
    """The prefilled trigger form of the finding's playbook, or None when no form can be derived."""
    base = {"triggered_by": "threat_scan", "finding_id": finding["finding_id"]}
    playbook, product = finding.get("playbook"), finding.get("product_id")
    if playbook == "F1":
        actor = _actor(conn, policy, finding)
        return None if actor is None else {**base, "actor_id": actor, "reason": f"{finding['rule_id']} finding"}
    if playbook == "F4" and len(str(finding["subject"])) == 64:
        return {**base, "proposed_fingerprint": finding["subject"], "requested_by": "unknown",
                "approver_id": policy.products[product].owners[0] if product in policy.products else "unknown",
                "justification": f"{finding['rule_id']}: policy in force differs from the last approved one"}  # fmt: skip
    if playbook == "F7":
        scope = {"product_ids": [product]} if product else {}
        return (
            {**base, "case_id": f"case-{finding['finding_id']}", "requested_by": "threat_scan", **scope}
            if scope
            else None
        )
    if playbook in ("F8", "F9", "F10") and product:
        return {**base, "product_id": product}
    return None


def _already_started(conn: Connection, finding_id: str) -> bool:
    marker = f'"finding_id": "{finding_id}"'
    return (
        conn.execute(select(incidents.c.incident_id).where(incidents.c.inputs.contains(marker)).limit(1)).first()
        is not None
    )


def plan_starts(engine: Engine, policy: LoadedPolicy, findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One ``{"trigger_dag_id", "trigger_run_id", "conf"}`` per playbook + subject that should start now."""
    starts: dict[tuple[str, str], dict[str, Any]] = {}
    with engine.connect() as conn:
        for finding in findings:
            playbook = PLAYBOOKS.get(str(finding.get("playbook")))
            form = form_for(conn, policy, finding) if playbook else None
            if playbook is None or form is None:
                log.warning("no playbook form can be derived from %s (%s); not started", finding["finding_id"],
                            finding.get("rule_id"))  # fmt: skip
                continue
            if _already_started(conn, finding["finding_id"]):
                continue
            subject = str(form[playbook.subject_field])
            if (playbook.playbook_id, subject) in starts or open_incident_for(conn, playbook.playbook_id, subject):
                continue
            starts[(playbook.playbook_id, subject)] = {
                "trigger_dag_id": playbook.dag_id,
                "trigger_run_id": f"autostart__{finding['finding_id']}",
                "conf": json.loads(json.dumps(form)),
            }
    return list(starts.values())
