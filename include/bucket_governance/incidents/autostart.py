"""Automatic starts: a critical result → its playbook's DAG with a prefilled form, de-duplicated.

A result is a finding (threat scan, schema drift, audit integrity) or a pipeline run's own verdict (a
CRITICAL capacity projection); its origin is its ``finding_id`` (else the form's ``source``).

* A result an incident of the playbook already covers starts nothing (a rerun of the window): its origin is
  in that incident's stored form (``finding_id`` / ``finding_ids`` / ``source``) or was attached to it.
* New results for a playbook + subject whose incident is OPEN start no run: their finding ids are attached
  to that incident (timeline step ``finding_attached``).
* Otherwise the results of one plan naming the same playbook + subject start ONE run: the first's form,
  with the list fields (artifact ids, drifting fields, products) of the others merged in when their other
  fields agree, and ``finding_ids`` listing every finding of the group. The DAG run id is derived from the
  first result (``autostart__<key>``), so a trigger queued but not yet run is not doubled; should two runs
  still race, the second attaches to the first's incident.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from bucket_governance.db.tables import ledger_entries
from bucket_governance.db.tables_incidents import incident_events, incidents
from bucket_governance.incidents.records import attach_findings, open_incident_for
from bucket_governance.incidents.registry import PLAYBOOKS, Playbook
from bucket_governance.policy import LoadedPolicy

log = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")  # the forms' Id constraint: list items not matching are dropped
_VERSION = re.compile(r"@v?\d+$")
_LISTS = ("artifact_ids", "fields", "product_ids")
ATTACH_STEPS = ("attached", "finding_attached")
INC, EV = incidents.c, incident_events.c


@dataclass(frozen=True)
class Candidate:
    """One result asking for a playbook run: the form, the run id key, and the form field naming its origin."""

    playbook: Playbook
    form: dict[str, Any]
    key: str  # the DAG run id is autostart__<key>
    origin_field: str = "finding_id"  # the form field whose value identifies the result in a stored form

    @property
    def subject(self) -> str:
        return str(self.form[self.playbook.subject_field])


def _seqs(finding: dict[str, Any]) -> list[int]:
    keys = (finding.get("evidence") or {}).get("occurrence_keys") or []
    seqs = [int(k[4:]) for k in keys if isinstance(k, str) and k.startswith("seq:") and k[4:].isdigit()]
    seq = (finding.get("evidence") or {}).get("seq")  # integrity findings name their ledger entry
    return [*seqs, int(seq)] if isinstance(seq, int) else seqs


def _ledger_value(conn: Connection, finding: dict[str, Any], column: str) -> str | None:
    """``column`` of the first of the finding's ledger occurrences that has one (None when none does)."""
    for seq in _seqs(finding)[:20]:
        value = conn.execute(select(ledger_entries.c[column]).where(ledger_entries.c.seq == seq)).scalar()
        if value:
            return str(value)
    return None


def _actor(conn: Connection, policy: LoadedPolicy, finding: dict[str, Any]) -> str | None:
    """The actor a finding is about: its subject, else the actor of its first ledger occurrence."""
    if finding["subject"] in policy.actors:
        return str(finding["subject"])
    actor = _ledger_value(conn, finding, "actor_id")
    return actor if actor in policy.actors else None


def _artifact_ids(finding: dict[str, Any]) -> list[str]:
    """Artifacts the finding names: an ``artifact:<id>@<version>`` subject, drift's sample artifact ids."""
    subject, evidence = str(finding["subject"]), finding.get("evidence") or {}
    named = [subject[9:]] if subject.startswith("artifact:") else []
    named += [str(a) for a in evidence.get("sample_artifact_ids") or ()]
    ids = [_VERSION.sub("", a) for a in named]  # quarantine takes artifact ids: "lesson-9@v1" → "lesson-9"
    return [a for a in dict.fromkeys(ids) if _ID.match(a)]


def _f1(conn: Connection, policy: LoadedPolicy, finding: dict[str, Any], base: dict[str, Any]) -> dict[str, Any] | None:
    actor = _actor(conn, policy, finding)
    if actor is None:
        return None
    return {
        **base,
        "actor_id": actor,
        "reason": f"{finding['rule_id']} finding",
        "artifact_ids": _artifact_ids(finding),
    }


def _f7(conn: Connection, finding: dict[str, Any], base: dict[str, Any], source: str) -> dict[str, Any] | None:
    product = finding.get("product_id") or _ledger_value(conn, finding, "product_id")
    if not product:
        return None
    # One legal case per integrity run (a tampering shows as several problems); the threat scan: per finding.
    case = f"case-{source}-{finding['last_run_id']}" if source == "audit_integrity" else f"case-{finding['finding_id']}"
    return {**base, "case_id": case, "requested_by": source, "product_ids": [product],
            "artifact_ids": _artifact_ids(finding)}  # fmt: skip


def _f10(finding: dict[str, Any], base: dict[str, Any]) -> dict[str, Any] | None:
    evidence, product = finding.get("evidence") or {}, finding.get("product_id")
    artifact_class, field = evidence.get("artifact_class"), evidence.get("field")
    if not product or not artifact_class:
        return None
    fields = [str(field)] if field is not None and _ID.match(str(field)) else []
    return {**base, "product_id": product, "artifact_class": artifact_class, "artifact_ids": _artifact_ids(finding),
            "fields": fields}  # fmt: skip


def _f4(conn: Connection, policy: LoadedPolicy, finding: dict[str, Any], base: dict[str, Any]) -> dict[str, Any] | None:
    """Who relaxed the policy is read off the ledger: the first request decided under the unapproved fingerprint
    names the actor (requested_by) and its product, whose first owner decides. None when the ledger names none."""
    evidence = finding.get("evidence") or {}
    L = ledger_entries.c
    query = (
        select(L.actor_id, L.product_id)
        .where(L.policy_fingerprint == finding["subject"], L.product_id.in_(list(policy.products)))
        .where(L.seq >= int(evidence.get("first_seq") or 0))
        .order_by(L.seq)
        .limit(1)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return {**base, "proposed_fingerprint": finding["subject"], "requested_by": row.actor_id,
            "approver_id": policy.products[row.product_id].owners[0],
            "justification": f"{finding['rule_id']}: policy in force differs from the last approved one"}  # fmt: skip


def form_for(
    conn: Connection, policy: LoadedPolicy, finding: dict[str, Any], source: str = "threat_scan"
) -> dict[str, Any] | None:
    """The prefilled trigger form of the finding's playbook, or None when no form can be derived."""
    base = {"triggered_by": source, "finding_id": finding["finding_id"]}
    playbook, product = finding.get("playbook"), finding.get("product_id")
    if playbook == "F1":
        return _f1(conn, policy, finding, base)
    if playbook == "F4" and len(str(finding["subject"])) == 64:
        return _f4(conn, policy, finding, base)
    if playbook == "F7":
        return _f7(conn, finding, base, source)
    if playbook == "F10":
        return _f10(finding, base)
    if playbook in ("F8", "F9") and product:
        return {**base, "product_id": product}
    return None


def finding_candidates(
    engine: Engine, policy: LoadedPolicy, findings: Iterable[dict[str, Any]], source: str = "threat_scan"
) -> list[Candidate]:
    """One candidate per finding whose playbook form can be derived (the others are logged, not started)."""
    candidates = []
    with engine.connect() as conn:
        for finding in findings:
            playbook = PLAYBOOKS.get(str(finding.get("playbook")))
            form = form_for(conn, policy, finding, source) if playbook else None
            if playbook is None or form is None:
                log.warning("no playbook form can be derived from %s (%s); not started", finding["finding_id"],
                            finding.get("rule_id"))  # fmt: skip
                continue
            candidates.append(Candidate(playbook, form, str(finding["finding_id"])))
    return candidates


def _origin(candidate: Candidate) -> str:
    return str(candidate.form[candidate.origin_field])


def _already_covered(conn: Connection, candidate: Candidate) -> bool:
    """Whether an incident of the playbook (open or closed) already covers this result: in its stored form
    (``finding_id`` / ``finding_ids`` / ``source``) or attached to it later."""
    quoted, playbook = json.dumps(_origin(candidate)), INC.playbook == candidate.playbook.playbook_id
    in_form = select(INC.incident_id).where(playbook, INC.inputs.contains(quoted, autoescape=True))
    attached = (
        select(EV.event_id)
        .join(incidents, INC.incident_id == EV.incident_id)
        .where(playbook, EV.step.in_(ATTACH_STEPS), EV.detail.contains(quoted, autoescape=True))
    )
    return any(conn.execute(query.limit(1)).first() is not None for query in (in_form, attached))


def _merge(form: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``form`` with ``other``'s list fields added, when all their other fields (but the origin) agree."""
    ignored = {"finding_id", "finding_ids", "source", *_LISTS}
    if {k: v for k, v in form.items() if k not in ignored} != {k: v for k, v in other.items() if k not in ignored}:
        return form
    merged = {k: list(dict.fromkeys([*form[k], *other.get(k, [])])) for k in _LISTS if k in form}
    return {**form, **merged}


def _start(group: list[Candidate]) -> dict[str, Any]:
    """One run for the group: the first result's form, the others merged in, every finding id listed."""
    form = group[0].form
    for other in group[1:]:
        form = _merge(form, other.form)
    if group[0].origin_field == "finding_id":
        form = {**form, "finding_ids": [_origin(c) for c in group]}
    return {
        "trigger_dag_id": group[0].playbook.dag_id,
        "trigger_run_id": f"autostart__{group[0].key}",
        "conf": json.loads(json.dumps(form)),
    }


def plan_candidates(engine: Engine, candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    """One ``{"trigger_dag_id", "trigger_run_id", "conf"}`` per playbook + subject that should start now.

    Results an incident already covers are dropped; new results for a playbook + subject whose incident is
    open are attached to it (a ``finding_attached`` timeline step) instead of starting a second run.
    """
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.playbook.playbook_id, candidate.subject), []).append(candidate)
    starts, attach = [], []
    with engine.connect() as conn:
        for (playbook_id, subject), group in groups.items():
            fresh = [c for c in group if not _already_covered(conn, c)]
            open_id = open_incident_for(conn, playbook_id, subject) if fresh else None
            if open_id:
                attach.append((open_id, fresh))
            elif fresh:
                starts.append(_start(fresh))
    for incident_id, fresh in attach:
        log.warning("%s already open for %s: attaching %s", incident_id, fresh[0].subject, [_origin(c) for c in fresh])
        attach_findings(engine, incident_id, [_origin(c) for c in fresh], actor=str(fresh[0].form["triggered_by"]),
                        field=f"{fresh[0].origin_field}s")  # fmt: skip
    return starts


def plan_starts(
    engine: Engine, policy: LoadedPolicy, findings: Iterable[dict[str, Any]], source: str = "threat_scan"
) -> list[dict[str, Any]]:
    """The playbook runs the findings call for, with forms prefilled and de-duplicated (see the module doc)."""
    return plan_candidates(engine, finding_candidates(engine, policy, findings, source))
