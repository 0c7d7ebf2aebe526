"""T7 Cross-product contamination: artifacts landing in the wrong product, shared ids, and leaks across products.

Each rule reports both what the gate refused (ledger reason codes) and what got stored anyway (artifact rows
created in the window that break the same boundary — only possible around the gate).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select

from bucket_governance.checks.threats.context import Hit, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions
from bucket_governance.policy import Operation

PROVEN_BY = "tests/unit/threats/test_t7.py"
A = artifact_versions.c
MISPLACED_REASONS = ("integration_product_mismatch", "class_not_allowed")
MAX_ID_LENGTH = 128  # artifact_id column width: longer strings cannot be artifact ids


def versions_in_window(context: RuleContext, *conditions: ColumnElement[bool]) -> Any:
    return (
        select(A.artifact_id, A.version, A.product_id, A.artifact_class, A.integration_id, A.created_at_us)
        .add_columns(A.ledger_seq)
        .where(A.created_at_us >= context.window_start_us, A.created_at_us < context.window_end_us, *conditions)
        .order_by(A.ledger_seq)
    )


def _stored_hits(rows: Iterable[Any], subject_of: str, evidence: dict[str, Any]) -> list[Hit]:
    """Stored versions as hits: versions are their occurrences, so a denied attempt and a stored row never merge."""
    groups: dict[str, list[Any]] = {}
    for row in rows:
        groups.setdefault(str(getattr(row, subject_of)), []).append(row)
    return [
        Hit(
            subject=subject,
            product_id=group[0].product_id,
            first_seen_us=group[0].created_at_us,
            last_seen_us=group[-1].created_at_us,
            evidence={**evidence, "stored_versions": [[r.artifact_id, r.version] for r in group][:200]},
            occurrence_keys=tuple(f"version:{r.artifact_id}:{r.version}" for r in group),
            count=len(group),
            window_key=f"stored:day:{group[0].created_at_us // 86_400_000_000}",
        )
        for subject, group in sorted(groups.items())
    ]


# -- T7.wrong_product_id -----------------------------------------------------------------------------------


@rule(
    "T7.wrong_product_id",
    "an artifact written for another product than its integration's, or of a class its product may not store",
    proven_by=PROVEN_BY,
)
def wrong_product_id(context: RuleContext) -> Iterable[Hit]:
    refused = ledger_in_window(context, or_(*map(reason_is, MISPLACED_REASONS)))
    hits = hits_by(context.conn.execute(refused), "integration_id", {"reasons": list(MISPLACED_REASONS)})
    stored = versions_in_window(context, or_(_foreign_integration(context), _class_not_allowed(context)))
    return hits + _stored_hits(context.conn.execute(stored), "integration_id", {"rule": "stored around the gate"})


def _foreign_integration(context: RuleContext) -> ColumnElement[bool]:
    integrations = context.policy.policy.integrations
    return or_(false(), *(and_(A.integration_id == i.id, A.product_id != i.product) for i in integrations))


def _class_not_allowed(context: RuleContext) -> ColumnElement[bool]:
    products = context.policy.policy.products
    return or_(
        A.product_id.not_in([p.id for p in products]),
        *(and_(A.product_id == p.id, A.artifact_class.not_in(p.artifact_classes)) for p in products),
    )


# -- T7.namespace_collision --------------------------------------------------------------------------------


@rule(
    "T7.namespace_collision",
    "one artifact id claimed by two products (a refused claim, or stored versions of both)",
    proven_by=PROVEN_BY,
)
def namespace_collision(context: RuleContext) -> Iterable[Hit]:
    refused = ledger_in_window(context, reason_is("namespace_collision"))
    hits = hits_by(context.conn.execute(refused), "artifact_id", {"reason": "namespace_collision"})
    other = artifact_versions.alias("other")
    # Versions created in the window whose id another product also holds (any time): the window bounds the scan.
    stored = versions_in_window(context).where(
        select(other.c.artifact_id)
        .where(other.c.artifact_id == A.artifact_id, other.c.product_id != A.product_id)
        .exists()
    )
    return hits + _stored_hits(context.conn.execute(stored), "artifact_id", {"rule": "one id, several products"})


# -- T7.metadata_leakage -----------------------------------------------------------------------------------


@rule(
    "T7.metadata_leakage",
    "cross-product read attempts by one actor (at least N), or stored metadata/provenance naming another "
    "product's artifacts",
    proven_by=PROVEN_BY,
    thresholds=("cross_product_reads",),
)
def metadata_leakage(context: RuleContext) -> Iterable[Hit]:
    threshold = context.thresholds.cross_product_reads
    reads = ledger_in_window(context, L.c.operation == Operation.READ.value, reason_is("cross_product_access"))
    hits = hits_by(context.conn.execute(reads), "actor_id", {"threshold": threshold}, min_count=threshold)
    return hits + _leaking_versions(context)


def _leaking_versions(context: RuleContext) -> list[Hit]:
    """Window versions whose metadata or provenance names an existing artifact of another product."""
    query = select(A.artifact_id, A.version, A.product_id, A.created_at_us, A.ledger_seq, A.metadata, A.provenance)
    window = (A.created_at_us >= context.window_start_us, A.created_at_us < context.window_end_us)
    rows = context.conn.execute(query.where(*window, _may_name_foreign(context)))
    prefixes = {f"{p}-": p for p in context.policy.products}
    candidates: dict[tuple[str, int], tuple[Any, set[str]]] = {}
    for row in rows:
        named = {
            s for s in _strings(json.loads(row.metadata), json.loads(row.provenance)) if _foreign(s, row, prefixes)
        }
        if named:
            candidates[(row.artifact_id, row.version)] = (row, named)
    if not candidates:
        return []
    products_of = _existing_products(context, {s for _, named in candidates.values() for s in named})
    leaks: dict[str, list[tuple[Any, list[str]]]] = {}
    for row, named in candidates.values():
        foreign = sorted(s for s in named if products_of.get(s, row.product_id) != row.product_id)
        if foreign:
            leaks.setdefault(row.artifact_id, []).append((row, foreign))
    return [_leak_hit(artifact_id, leaks[artifact_id]) for artifact_id in sorted(leaks)]


def _may_name_foreign(context: RuleContext) -> ColumnElement[bool]:
    """In SQL: the JSON text holds a string starting ``"<another product>-`` (spares parsing nearly every row)."""
    return or_(
        false(),
        *(
            and_(A.product_id != p, or_(A.metadata.contains(f'"{p}-', autoescape=True),
                                        A.provenance.contains(f'"{p}-', autoescape=True)))
            for p in context.policy.products
        ),
    )  # fmt: skip


def _foreign(value: str, row: Any, prefixes: dict[str, str]) -> bool:
    """Generated ids are ``<product>-<hex>``: a string of that shape for another product is a candidate."""
    if len(value) > MAX_ID_LENGTH or value == row.artifact_id:
        return False
    return any(value.startswith(prefix) and product != row.product_id for prefix, product in prefixes.items())


def _strings(*values: Any) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _strings(*value.values())
        elif isinstance(value, list):
            yield from _strings(*value)


def _existing_products(context: RuleContext, ids: set[str]) -> dict[str, str]:
    """Which candidate strings are real artifact ids, and of which product (one indexed lookup per chunk)."""
    found: dict[str, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        query = select(A.artifact_id, A.product_id).where(A.artifact_id.in_(chunk), A.version == 1)
        found.update({r.artifact_id: r.product_id for r in context.conn.execute(query)})
    return found


def _leak_hit(artifact_id: str, versions: list[tuple[Any, list[str]]]) -> Hit:
    rows = [row for row, _ in versions]
    return Hit(
        subject=artifact_id,
        product_id=rows[0].product_id,
        first_seen_us=min(r.created_at_us for r in rows),
        last_seen_us=max(r.created_at_us for r in rows),
        evidence={
            "versions": [r.version for r in rows],
            "ledger_seqs": [r.ledger_seq for r in rows],
            "references": sorted({s for _, named in versions for s in named})[:50],
        },
        occurrence_keys=tuple(f"version:{artifact_id}:{r.version}" for r in rows),
        count=len(rows),
        window_key=f"stored:day:{rows[0].created_at_us // 86_400_000_000}",
    )
