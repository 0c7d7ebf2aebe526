"""Shared query helpers for rules: windowed ledger reads, grouped into hits per subject."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from bucket_governance.checks.threats.context import Hit, RuleContext, seq_keys
from bucket_governance.db.tables import ledger_entries

L = ledger_entries


def ledger_in_window(
    context: RuleContext, *conditions: ColumnElement[bool], start_us: int | None = None
) -> Select[Any]:
    """Ledger rows of the window (or from ``start_us`` for a look-back), filtered in SQL, in sequence order."""
    start = context.window_start_us if start_us is None else start_us
    return (
        select(
            L.c.seq,
            L.c.recorded_at_us,
            L.c.operation,
            L.c.decision,
            L.c.reasons,
            L.c.actor_id,
            L.c.integration_id,
            L.c.product_id,
            L.c.artifact_id,
            L.c.version,
        )
        .where(L.c.recorded_at_us >= start, L.c.recorded_at_us < context.window_end_us, *conditions)
        .order_by(L.c.seq)
    )


def reason_is(code: str) -> ColumnElement[bool]:
    """Reasons are a canonical JSON list of codes, so a quoted match is exact (codes contain no quotes)."""
    return L.c.reasons.like(f'%"{code}"%')


def hits_by(rows: Iterable[Any], subject_of: str, evidence: dict[str, Any], min_count: int = 1) -> list[Hit]:
    """One hit per distinct value of column ``subject_of``, with the seqs involved as occurrences."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        groups[str(getattr(row, subject_of))].append(row)
    return [_hit(subject, group, evidence) for subject, group in sorted(groups.items()) if len(group) >= min_count]


def _hit(subject: str, rows: Sequence[Any], evidence: dict[str, Any]) -> Hit:
    seqs = [r.seq for r in rows]
    return Hit(
        subject=subject,
        product_id=rows[0].product_id,
        first_seen_us=rows[0].recorded_at_us,
        last_seen_us=rows[-1].recorded_at_us,
        evidence={**evidence, "ledger_seqs": seqs[:200], "count_in_window": len(rows)},
        occurrence_keys=seq_keys(seqs),
        count=len(rows),
    )
