"""What the audit-integrity check remembers between runs (cursors) and what it reports (problems → findings).

Problems are stored per run in ``integrity_problems`` (the T8/T5 threat rules read them) and upserted as
findings. A problem's finding key is its rule and subject with the fixed window key ``integrity``: the same
damaged entry seen by ten hourly runs, or re-run for the same window, stays one finding.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from bucket_governance.db.tables_ledger import integrity_problems, integrity_progress
from bucket_governance.results.findings import FindingDraft, UpsertSummary, upsert_findings

WINDOW_KEY = "integrity"
RULE_THREAT = {"T8": ("CRITICAL", "F7"), "T5": ("CRITICAL", "F1")}

LOG_DELETION = "T8.log_deletion"
TIMESTAMP_MANIPULATION = "T8.timestamp_manipulation"
SELECTIVE_OMISSION = "T8.selective_omission"
DIRECT_DB_ACCESS = "T5.direct_db_access"


def recorded_time(row: Any) -> int | None:
    """The entry's recorded time, or None when a tampered row holds something that is not one (SQLite stores
    any type in any column): the hash mismatch reports that row, and no time order can be judged from it."""
    value = row.recorded_at_us
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class Problem:
    """One place where the stored data contradicts the ledger, with the evidence to find it again."""

    rule_id: str
    kind: str
    subject: str  # "seq:42", "artifact:lesson-1@3", "payload:<hash>", "checkpoint:7"
    evidence: dict[str, Any]
    seq: int | None = None
    product_id: str | None = None
    seen_us: int | None = None  # when the damaged thing claims to have happened

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "kind": self.kind, "subject": self.subject, "seq": self.seq, **self.evidence}


@dataclass
class Cursor:
    name: str
    position: int = 0
    position_hash: str | None = None
    position_key: str | None = None
    cycle_started_at_us: int = 0


@dataclass
class ProblemLog:
    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    def unique(self) -> list[Problem]:
        """One problem per (rule, kind, subject): overlapping slices must not report a place twice."""
        seen: dict[tuple[str, str, str], Problem] = {}
        for p in self.problems:
            seen.setdefault((p.rule_id, p.kind, p.subject), p)
        return list(seen.values())


def load_cursor(conn: Connection, name: str) -> Cursor:
    row = conn.execute(select(integrity_progress).where(integrity_progress.c.cursor == name)).first()
    if row is None:
        return Cursor(name)
    return Cursor(name, int(row.position), row.position_hash, row.position_key, int(row.cycle_started_at_us))


def save_cursor(conn: Connection, cursor: Cursor, now_us: int | None = None) -> None:
    now = now_us if now_us is not None else time.time_ns() // 1000
    values = {
        "position": cursor.position,
        "position_hash": cursor.position_hash,
        "position_key": cursor.position_key,
        "cycle_started_at_us": cursor.cycle_started_at_us,
        "updated_at_us": now,
    }
    done = conn.execute(update(integrity_progress).where(integrity_progress.c.cursor == cursor.name).values(values))
    if done.rowcount == 0:
        conn.execute(insert(integrity_progress).values(cursor=cursor.name, **values))


def record_problems(
    conn: Connection, run_id: str, problems: list[Problem], *, now_us: int, fallback_seen_us: int
) -> UpsertSummary:
    """Replace the run's problem rows (a re-run of a window starts afresh) and upsert the findings."""
    conn.execute(delete(integrity_problems).where(integrity_problems.c.run_id == run_id))
    if problems:
        conn.execute(insert(integrity_problems), [_problem_row(run_id, p, now_us) for p in problems])
    drafts = [finding_draft(p, fallback_seen_us) for p in problems]
    return upsert_findings(conn, drafts, run_id=run_id, now_us=now_us)


def _problem_row(run_id: str, p: Problem, now_us: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "rule_id": p.rule_id,
        "kind": p.kind,
        "subject": p.subject,
        "product_id": p.product_id,
        "seq": p.seq,
        "detected_at_us": now_us,
        "evidence": json.dumps({**p.evidence, "seen_us": p.seen_us}, sort_keys=True),
    }


def finding_draft(p: Problem, fallback_seen_us: int) -> FindingDraft:
    """The finding of a problem; the threat rules build the very same fingerprint from the stored row."""
    severity, playbook = RULE_THREAT[p.rule_id.split(".", 1)[0]]
    seen = p.seen_us if p.seen_us is not None else fallback_seen_us
    return FindingDraft(
        rule_id=p.rule_id,
        rule_version=1,
        threat_id=p.rule_id.split(".", 1)[0],
        severity=severity,
        product_id=p.product_id,
        subject=p.subject,
        window_key=WINDOW_KEY,
        first_seen_us=seen,
        last_seen_us=seen,
        evidence={"kind": p.kind, "seq": p.seq, **p.evidence},
        playbook=playbook,
        occurrence_keys=(f"{p.kind}:{p.subject}",),
    )
