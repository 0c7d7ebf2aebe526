"""Automatic starts: a critical result → its playbook's DAG with a prefilled form, de-duplicated.

A result is a finding (threat scan, schema drift, audit integrity) or a pipeline run's own verdict (a
CRITICAL capacity projection). It is not started again when an open incident of that playbook + subject
exists, or when an earlier incident was already started by this very result (a rerun of the window): the
result's origin (``finding_id``, else the form's ``source``) is part of the incident's stored form. The DAG
run id is derived from the result (``autostart__<key>``), so a trigger that is queued but not yet run is not
doubled either; and should two runs still race, the second attaches to the first's incident.

Results of one plan that name the same playbook + subject start one run: the first's form, with the list
fields (artifact ids, drifting fields, products) of the others merged in when their other fields agree.
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
from bucket_governance.db.tables_incidents import incidents
from bucket_governance.incidents.records import open_incident_for
from bucket_governance.incidents.registry import PLAYBOOKS, Playbook
from bucket_governance.policy import LoadedPolicy

log = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")  # the forms' Id constraint: list items not matching are dropped
_VERSION = re.compile(r"@v?\d+$")
_LISTS = ("artifact_ids", "fields", "product_ids")


@dataclass(frozen=True)
class Candidate:
    """One result asking for a playbook run: the form, the run id key, and the marker of its origin."""

    playbook: Playbook
    form: dict[str, Any]
    key: str  # the DAG run id is autostart__<key>
    origin_field: str = "finding_id"  # the form field whose value identifies the result in a stored form

    @property
    def subject(self) -> str:
        return str(self.form[self.playbook.subject_field])

    @property
    def marker(self) -> str:
        return json.dumps({self.origin_field: self.form[self.origin_field]})[1:-1]


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


def form_for(
    conn: Connection, policy: LoadedPolicy, finding: dict[str, Any], source: str = "threat_scan"
) -> dict[str, Any] | None:
    """The prefilled trigger form of the finding's playbook, or None when no form can be derived."""
    base = {"triggered_by": source, "finding_id": finding["finding_id"]}
    playbook, product = finding.get("playbook"), finding.get("product_id")
    if playbook == "F1":
        return _f1(conn, policy, finding, base)
    if playbook == "F4" and len(str(finding["subject"])) == 64:
        return {**base, "proposed_fingerprint": finding["subject"], "requested_by": "unknown",
                "approver_id": policy.products[product].owners[0] if product in policy.products else "unknown",
                "justification": f"{finding['rule_id']}: policy in force differs from the last approved one"}  # fmt: skip
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


def _already_started(conn: Connection, candidate: Candidate) -> bool:
    query = select(incidents.c.incident_id).where(
        incidents.c.playbook == candidate.playbook.playbook_id, incidents.c.inputs.contains(candidate.marker)
    )
    return conn.execute(query.limit(1)).first() is not None


def _merge(form: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``form`` with ``other``'s list fields added, when all their other fields (but the origin) agree."""
    ignored = {"finding_id", "source", *_LISTS}
    if {k: v for k, v in form.items() if k not in ignored} != {k: v for k, v in other.items() if k not in ignored}:
        return form
    merged = {k: list(dict.fromkeys([*form[k], *other.get(k, [])])) for k in _LISTS if k in form}
    return {**form, **merged}


def plan_candidates(engine: Engine, candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    """One ``{"trigger_dag_id", "trigger_run_id", "conf"}`` per playbook + subject that should start now."""
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.playbook.playbook_id, candidate.subject), []).append(candidate)
    starts = []
    with engine.connect() as conn:
        for (playbook_id, subject), group in groups.items():
            if open_incident_for(conn, playbook_id, subject) or any(_already_started(conn, c) for c in group):
                continue
            form = group[0].form
            for other in group[1:]:
                form = _merge(form, other.form)
            starts.append({
                "trigger_dag_id": group[0].playbook.dag_id,
                "trigger_run_id": f"autostart__{group[0].key}",
                "conf": json.loads(json.dumps(form)),
            })  # fmt: skip
    return starts


def plan_starts(
    engine: Engine, policy: LoadedPolicy, findings: Iterable[dict[str, Any]], source: str = "threat_scan"
) -> list[dict[str, Any]]:
    """The playbook runs the findings call for, with forms prefilled and de-duplicated (see the module doc)."""
    return plan_candidates(engine, finding_candidates(engine, policy, findings, source))
