"""T5 Executor override: executors stepping outside their lane, and requests decided under an unapproved policy.

``T5.direct_db_access`` lives in ``t5_integrity.py`` (it reads the audit-integrity pipeline's results).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select

from bucket_governance.bucket.policy_approval import Approval, approvals_between, last_approval
from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
from bucket_governance.policy import ActorKind

PROVEN_BY = "tests/unit/threats/test_t5.py"
US_PER_MINUTE = 60_000_000


@rule(
    "T5.governance_bypass",
    "an executor asked for an operation outside the lane its policy entry allows (the gate refused it)",
    proven_by=PROVEN_BY,
)
def governance_bypass(context: RuleContext) -> Iterable[Hit]:
    executors = [a.id for a in context.policy.policy.actors if a.kind is ActorKind.EXECUTOR]
    lanes = {a.id: sorted(op.value for op in a.lane or ()) for a in context.policy.policy.actors if a.id in executors}
    query = ledger_in_window(context, L.c.actor_id.in_(executors), reason_is("actor_lane_violation"))
    hits = hits_by(context.conn.execute(query), "actor_id", {"reason": "actor_lane_violation"})
    return [_with_lane(hit, lanes.get(hit.subject, [])) for hit in hits]


def _with_lane(hit: Hit, lane: list[str]) -> Hit:
    return replace(hit, evidence={**hit.evidence, "lane": lane})


@rule(
    "T5.emergency_hotfix",
    "requests decided under a policy fingerprint other than the last approved one (a policy changed without approval)",
    proven_by=PROVEN_BY,
    playbook="F4",
)
def emergency_hotfix(context: RuleContext) -> Iterable[Hit] | NotEvaluated:
    before = last_approval(context.conn, before_us=context.window_start_us)
    approvals = approvals_between(context.conn, context.window_start_us, context.window_end_us)
    segments = _segments(context, before, approvals)
    if not segments:
        if _window_has_entries(context):
            return NotEvaluated("no policy approval is recorded; run `bucket-gov policy approve --actor <owner>`")
        return []
    found: dict[str, list[Any]] = {}
    for start_seq, end_seq, approval in segments:
        for row in context.conn.execute(_unapproved(context, start_seq, end_seq, approval.fingerprint)):
            found.setdefault(row.policy_fingerprint, []).append((row, approval))
    return [_hotfix_hit(fingerprint, groups) for fingerprint, groups in sorted(found.items())]


def _segments(
    context: RuleContext, before: Approval | None, approvals: list[Approval]
) -> list[tuple[int | None, int | None, Approval]]:
    """Seq ranges of the window and the approval in force over each: [start, end) with None as open."""
    segments: list[tuple[int | None, int | None, Approval]] = []
    current, start = before, None
    for approval in approvals:
        if current is not None:
            segments.append((start, approval.seq, current))
        current, start = approval, approval.seq
    if current is not None:
        segments.append((start, None, current))
    return segments  # entries before the first approval ever are not judged: nothing was approved yet


def _unapproved(context: RuleContext, start_seq: int | None, end_seq: int | None, approved: str) -> Any:
    """Per fingerprint other than ``approved`` and per minute: how many entries of the segment (in SQL)."""
    conditions = [
        L.c.recorded_at_us >= context.window_start_us,
        L.c.recorded_at_us < context.window_end_us,
        L.c.policy_fingerprint != approved,
    ]
    if start_seq is not None:
        conditions.append(L.c.seq >= start_seq)
    if end_seq is not None:
        conditions.append(L.c.seq < end_seq)
    minute = (L.c.recorded_at_us // US_PER_MINUTE).label("minute")
    return (
        select(
            L.c.policy_fingerprint,
            minute,
            func.count().label("entries"),
            func.min(L.c.seq).label("first_seq"),
            func.max(L.c.seq).label("last_seq"),
            func.min(L.c.recorded_at_us).label("first_us"),
            func.max(L.c.recorded_at_us).label("last_us"),
        )
        .where(*conditions)
        .group_by(L.c.policy_fingerprint, minute)
        .order_by(minute)
    )


def _hotfix_hit(fingerprint: str, groups: list[Any]) -> Hit:
    rows = [row for row, _ in groups]
    approved = groups[-1][1]
    return Hit(
        subject=fingerprint,
        product_id=None,
        first_seen_us=min(r.first_us for r in rows),
        last_seen_us=max(r.last_us for r in rows),
        evidence={
            "policy_fingerprint": fingerprint,
            "approved_fingerprint": approved.fingerprint,
            "approved_at_seq": approved.seq,
            "entries_in_window": sum(r.entries for r in rows),
            "first_seq": min(r.first_seq for r in rows),
            "last_seq": max(r.last_seq for r in rows),
        },
        # One occurrence per minute under the unapproved policy: overlapping windows and reruns see the same
        # minutes, so the finding's count is exact without keeping every sequence number.
        occurrence_keys=tuple(sorted({f"minute:{r.minute}" for r in rows})),
        count=len({r.minute for r in rows}),
    )


def _window_has_entries(context: RuleContext) -> bool:
    query = select(L.c.seq).where(
        L.c.recorded_at_us >= context.window_start_us, L.c.recorded_at_us < context.window_end_us
    )
    return context.conn.execute(query.limit(1)).first() is not None
