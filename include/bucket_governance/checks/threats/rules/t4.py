"""T4 Concurrent write collision: the artifact is the subject (F9 throttles writes on the affected artifacts).

``version_conflict`` reads the 409s the gate recorded; ``concurrent_writes`` and ``race_condition`` read what
was committed (``artifact_versions``), so they also see versions written around the gate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from bucket_governance.checks.threats.context import US_PER_SECOND, Hit, RuleContext
from bucket_governance.checks.threats.evidence import SubjectHits
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions

A = artifact_versions
PROVEN_BY = "tests/unit/threats/test_t4.py"
CONFLICT_REASONS = ("version_conflict", "expected_version_required")  # both answer 409


@rule(
    "T4.version_conflict",
    "at least version_conflicts_per_artifact writes to one artifact refused with 409 in the window",
    proven_by=PROVEN_BY,
    thresholds=("version_conflicts_per_artifact",),
)
def version_conflict(context: RuleContext) -> Iterable[Hit]:
    threshold = context.thresholds.version_conflicts_per_artifact
    query = ledger_in_window(context, L.c.operation == "CREATE", or_(*map(reason_is, CONFLICT_REASONS)))
    evidence = {"threshold": threshold, "reason_codes": list(CONFLICT_REASONS)}
    return hits_by(context.conn.execute(query), "artifact_id", evidence, min_count=threshold)


# -- T4.concurrent_writes -----------------------------------------------------------------------------------


@rule(
    "T4.concurrent_writes",
    "several writers committed versions of one artifact within concurrent_writes_span_seconds",
    proven_by=PROVEN_BY,
    lookback=timedelta(seconds=2),  # concurrent_writes_span_seconds: a pair may straddle the window start
    thresholds=("concurrent_writes_span_seconds", "concurrent_writes_min_writers"),
)
def concurrent_writes(context: RuleContext) -> Iterable[Hit]:
    th = context.thresholds
    span_us = th.concurrent_writes_span_seconds * US_PER_SECOND
    start = context.window_start_us - span_us
    in_range = (A.c.created_at_us >= start) & (A.c.created_at_us < context.window_end_us)
    # Only artifacts with enough distinct writers in the range are looked at version by version.
    candidates = (
        select(A.c.artifact_id)
        .where(in_range)
        .group_by(A.c.artifact_id)
        .having(func.count(func.distinct(A.c.created_by)) >= th.concurrent_writes_min_writers)
    )
    rows = context.conn.execute(
        select(A.c.artifact_id, A.c.version, A.c.product_id, A.c.created_by, A.c.created_at_us, A.c.ledger_seq)
        .where(in_range, A.c.artifact_id.in_(candidates))
        .order_by(A.c.artifact_id, A.c.created_at_us, A.c.version)
    ).all()
    found = SubjectHits(
        {"span_seconds": th.concurrent_writes_span_seconds, "min_writers": th.concurrent_writes_min_writers}
    )
    by_artifact: dict[str, list[Any]] = {}
    for row in rows:
        by_artifact.setdefault(row.artifact_id, []).append(row)
    for versions in by_artifact.values():
        for row in _colliding(versions, span_us, th.concurrent_writes_min_writers, context.window_start_us):
            item = {"version": row.version, "writer": row.created_by, "created_at_us": row.created_at_us}
            found.add(row.artifact_id, row.product_id, row.created_at_us, "versions", item, f"seq:{row.ledger_seq}")
    return found.hits()


def _colliding(versions: list[Any], span_us: int, min_writers: int, window_start_us: int) -> list[Any]:
    """Versions in some span of ``span_us`` holding ``min_writers`` distinct writers, one of them in the window."""
    colliding: dict[int, Any] = {}
    first = 0
    for last, row in enumerate(versions):
        while row.created_at_us - versions[first].created_at_us > span_us:
            first += 1
        group = versions[first : last + 1]
        if len({r.created_by for r in group}) >= min_writers and row.created_at_us >= window_start_us:
            colliding.update({r.version: r for r in group})
    return [colliding[v] for v in sorted(colliding)]


# -- T4.race_condition --------------------------------------------------------------------------------------


@rule(
    "T4.race_condition",
    "an artifact written in the window whose version numbers are not exactly 1…n (a duplicate or a gap)",
    proven_by=PROVEN_BY,
)
def race_condition(context: RuleContext) -> Iterable[Hit]:
    window = (A.c.created_at_us >= context.window_start_us) & (A.c.created_at_us < context.window_end_us)
    touched = select(A.c.artifact_id).where(window).distinct()
    distinct = func.count(func.distinct(A.c.version))
    # The whole version list of each touched artifact (bounded per artifact, served by the primary key).
    broken = (
        select(A.c.artifact_id)
        .where(A.c.artifact_id.in_(touched))
        .group_by(A.c.artifact_id)
        .having(or_(func.count() != distinct, func.max(A.c.version) != distinct, func.min(A.c.version) != 1))
    )
    rows = context.conn.execute(
        select(A.c.artifact_id, A.c.version, A.c.product_id, A.c.created_at_us, A.c.ledger_seq)
        .where(A.c.artifact_id.in_(broken))
        .order_by(A.c.artifact_id, A.c.version)
    ).all()
    by_artifact: dict[str, list[Any]] = {}
    for row in rows:
        by_artifact.setdefault(row.artifact_id, []).append(row)
    return [_race_hit(artifact_id, versions, context) for artifact_id, versions in by_artifact.items()]


def _race_hit(artifact_id: str, versions: list[Any], context: RuleContext) -> Hit:
    numbers = [int(r.version) for r in versions]
    counts = Counter(numbers)
    missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
    duplicates = sorted(v for v, n in counts.items() if n > 1)
    start, end = context.window_start_us, context.window_end_us
    in_window = [r for r in versions if start <= r.created_at_us < end] or versions
    return Hit(
        subject=artifact_id,
        product_id=versions[0].product_id,
        first_seen_us=min(r.created_at_us for r in in_window),
        last_seen_us=max(r.created_at_us for r in in_window),
        evidence={
            "versions": numbers[:200],
            "missing_versions": missing[:200],
            "duplicate_versions": duplicates,
            "ledger_seqs": [int(r.ledger_seq) for r in versions][:200],
        },
        # The defect itself is the occurrence: rescanning a later window of the same artifact adds nothing.
        occurrence_keys=tuple(f"missing:{v}" for v in missing) + tuple(f"duplicate:{v}" for v in duplicates),
        count=len(missing) + len(duplicates),
        window_key=f"artifact:{artifact_id}",
    )
