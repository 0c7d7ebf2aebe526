"""Turn the audit-integrity pipeline's stored problems into threat-rule hits (T8.*, T5.direct_db_access).

The rules do not re-detect: they read ``integrity_problems`` of the integrity runs whose window overlaps
the scan window, and build hits with the same subject and window key the pipeline used, so a threat scan
and an integrity run land on the same finding. No finished integrity run over the window → not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select

from bucket_governance.checks.integrity import PIPELINE
from bucket_governance.checks.integrity_records import WINDOW_KEY
from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext
from bucket_governance.db.tables import governance_runs
from bucket_governance.db.tables_ledger import integrity_problems

R, P = governance_runs, integrity_problems


def integrity_hits(context: RuleContext, rule_id: str) -> list[Hit] | NotEvaluated:
    runs = select(R.c.run_id).where(
        R.c.pipeline == PIPELINE,
        R.c.status.in_(("clean", "findings")),
        R.c.window_start_us < context.window_end_us,
        R.c.window_end_us >= context.window_start_us,
    )
    run_ids = list(context.conn.execute(runs).scalars())
    if not run_ids:
        return NotEvaluated("no finished audit-integrity run covers this window")
    rows = context.conn.execute(
        select(P).where(P.c.run_id.in_(run_ids), P.c.rule_id == rule_id).order_by(P.c.subject, P.c.problem_id)
    ).all()
    return list(_hits(rows))


def _hits(rows: Iterable[object]) -> Iterable[Hit]:
    seen: set[tuple[str, str]] = set()
    for row in rows:
        kind, subject = row.kind, row.subject  # type: ignore[attr-defined]
        if (kind, subject) in seen:
            continue  # the same place reported by several overlapping runs
        seen.add((kind, subject))
        evidence = json.loads(row.evidence)  # type: ignore[attr-defined]
        seen_us = evidence.pop("seen_us", None) or row.detected_at_us  # type: ignore[attr-defined]
        yield Hit(
            subject=subject,
            product_id=row.product_id,  # type: ignore[attr-defined]
            first_seen_us=seen_us,
            last_seen_us=seen_us,
            evidence={"kind": kind, "seq": row.seq, **evidence},  # type: ignore[attr-defined]
            occurrence_keys=(f"{kind}:{subject}",),
            window_key=WINDOW_KEY,
        )
