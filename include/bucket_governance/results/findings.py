"""Findings: idempotent upsert by fingerprint, and the lifecycle open → acknowledged → resolved / suppressed.

A finding's fingerprint is SHA-256(rule id ‖ subject ‖ window key), so a rerun or an overlapping window
updates the same row instead of adding one. Its ``count`` is the number of distinct occurrences (e.g.
ledger sequence numbers) seen across every run — re-seeing the same events never inflates it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from bucket_governance.db.tables import findings
from bucket_governance.errors import InvalidInputError, NotFoundError

# Occurrence keys kept per finding; beyond this the count still grows but older keys are not listed.
MAX_OCCURRENCE_KEYS = 2_000
STATUSES = ("open", "acknowledged", "resolved", "suppressed")
# The transitions people may make (the scan itself only creates, updates, and reopens expired suppressions).
TRANSITIONS = {
    "acknowledged": {"open"},
    "resolved": {"open", "acknowledged", "suppressed"},
    "suppressed": {"open", "acknowledged"},
    "open": {"suppressed", "resolved", "acknowledged"},
}


@dataclass(frozen=True)
class FindingDraft:
    rule_id: str
    rule_version: int
    threat_id: str
    severity: str
    product_id: str | None
    subject: str
    window_key: str
    first_seen_us: int
    last_seen_us: int
    evidence: dict[str, Any]
    playbook: str | None
    occurrence_keys: tuple[str, ...] = ()
    count: int = 1

    @property
    def fingerprint(self) -> str:
        return finding_fingerprint(self.rule_id, self.subject, self.window_key)


@dataclass
class UpsertSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    suppressed_matches: list[str] = field(default_factory=list)  # still counted, not alerted

    def as_dict(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated), "suppressed": len(self.suppressed_matches)}


def finding_fingerprint(rule_id: str, subject: str, window_key: str) -> str:
    return hashlib.sha256("\x1f".join((rule_id, subject, window_key)).encode()).hexdigest()


def finding_id_for(fingerprint: str) -> str:
    return f"F-{fingerprint[:16]}"


def upsert_findings(
    conn: Connection, drafts: Iterable[FindingDraft], *, run_id: str | None, now_us: int
) -> UpsertSummary:
    summary = UpsertSummary()
    for draft in drafts:
        row = conn.execute(select(findings).where(findings.c.fingerprint == draft.fingerprint)).first()
        if row is None:
            conn.execute(insert(findings).values(_new_row(draft, run_id)))
            summary.created.append(finding_id_for(draft.fingerprint))
            continue
        values = _merged_values(row, draft, run_id, now_us)
        conn.execute(update(findings).where(findings.c.finding_id == row.finding_id).values(values))
        target = summary.suppressed_matches if values.get("status", row.status) == "suppressed" else summary.updated
        target.append(row.finding_id)
    return summary


def _new_row(draft: FindingDraft, run_id: str | None) -> dict[str, Any]:
    keys = list(dict.fromkeys(draft.occurrence_keys))[:MAX_OCCURRENCE_KEYS]
    return {
        "finding_id": finding_id_for(draft.fingerprint),
        "fingerprint": draft.fingerprint,
        "rule_id": draft.rule_id,
        "rule_version": draft.rule_version,
        "threat_id": draft.threat_id,
        "severity": draft.severity,
        "product_id": draft.product_id,
        "subject": draft.subject,
        "first_seen_us": draft.first_seen_us,
        "last_seen_us": draft.last_seen_us,
        "count": len(keys) if keys else draft.count,
        "evidence": json.dumps({**draft.evidence, "occurrence_keys": keys}, sort_keys=True, default=str),
        "playbook": draft.playbook,
        "status": "open",
        "last_run_id": run_id,
    }


def _merged_values(row: Any, draft: FindingDraft, run_id: str | None, now_us: int) -> dict[str, Any]:
    old_evidence = json.loads(row.evidence)
    old_keys: list[str] = old_evidence.get("occurrence_keys", [])
    seen = set(old_keys)
    new_keys = [k for k in dict.fromkeys(draft.occurrence_keys) if k not in seen]
    # Keyed occurrences add only what is new; unkeyed aggregates keep the largest count observed.
    count = row.count + len(new_keys) if old_keys or new_keys else max(row.count, draft.count)
    values: dict[str, Any] = {
        "first_seen_us": min(row.first_seen_us, draft.first_seen_us),
        "last_seen_us": max(row.last_seen_us, draft.last_seen_us),
        "count": count,
        "evidence": json.dumps(
            {**draft.evidence, "occurrence_keys": (old_keys + new_keys)[:MAX_OCCURRENCE_KEYS]},
            sort_keys=True,
            default=str,
        ),
        "rule_version": draft.rule_version,
        "last_run_id": run_id,
    }
    if row.status == "suppressed" and row.suppressed_until_us is not None and row.suppressed_until_us <= now_us:
        values.update(status="open", status_reason="suppression expired", suppressed_until_us=None)
    return values


# -- lifecycle ---------------------------------------------------------------------------------------------


def transition(
    engine: Engine,
    finding_id: str,
    status: str,
    *,
    actor: str,
    reason: str | None = None,
    until_us: int | None = None,
) -> dict[str, Any]:
    """Move a finding to ``status``; resolving and suppressing need a reason, suppressing an expiry."""
    _validate_transition_input(status, reason, until_us)
    with engine.begin() as conn:
        row = conn.execute(select(findings).where(findings.c.finding_id == finding_id)).first()
        if row is None:
            raise NotFoundError("finding_not_found", f"no finding {finding_id!r}")
        if row.status not in TRANSITIONS[status]:
            raise InvalidInputError(
                "transition_invalid", f"finding {finding_id} is {row.status}; it cannot become {status}"
            )
        values = {"status": status, "status_owner": actor, "status_reason": reason, "suppressed_until_us": until_us}
        conn.execute(update(findings).where(findings.c.finding_id == finding_id).values(values))
        return finding_dict(conn.execute(select(findings).where(findings.c.finding_id == finding_id)).one())


def _validate_transition_input(status: str, reason: str | None, until_us: int | None) -> None:
    if status not in TRANSITIONS:
        raise InvalidInputError("status_invalid", f"status must be one of {', '.join(TRANSITIONS)}")
    if status in ("resolved", "suppressed") and not reason:
        raise InvalidInputError("reason_required", f"a {status} finding needs a reason (--reason)")
    if status == "suppressed" and until_us is None:
        raise InvalidInputError("expiry_required", "a suppression needs an expiry (--until)")


def reopen_expired_suppressions(conn: Connection, now_us: int) -> int:
    result = conn.execute(
        update(findings)
        .where(findings.c.status == "suppressed", findings.c.suppressed_until_us <= now_us)
        .values(status="open", status_reason="suppression expired", suppressed_until_us=None)
    )
    return int(result.rowcount or 0)


# -- reading -----------------------------------------------------------------------------------------------


def list_findings(
    conn: Connection,
    *,
    statuses: Sequence[str] = (),
    rule_id: str | None = None,
    threat_id: str | None = None,
    product_id: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    query = select(findings).order_by(findings.c.last_seen_us.desc(), findings.c.finding_id).limit(limit)
    if statuses:
        query = query.where(findings.c.status.in_(statuses))
    for column, value in (
        (findings.c.rule_id, rule_id),
        (findings.c.threat_id, threat_id),
        (findings.c.product_id, product_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return [finding_dict(r) for r in conn.execute(query)]


def get_finding(conn: Connection, finding_id: str) -> dict[str, Any]:
    row = conn.execute(select(findings).where(findings.c.finding_id == finding_id)).first()
    if row is None:
        raise NotFoundError("finding_not_found", f"no finding {finding_id!r}")
    return finding_dict(row)


def finding_dict(row: Any) -> dict[str, Any]:
    document = dict(row._mapping)
    document["evidence"] = json.loads(document["evidence"])
    document["first_seen"] = _iso(document["first_seen_us"])
    document["last_seen"] = _iso(document["last_seen_us"])
    return document


def _iso(us: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
