"""T6 AI escalation cascade."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from bucket_governance.checks.threats.context import Hit, RuleContext
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.sql import L, hits_by, ledger_in_window, reason_is
from bucket_governance.db.tables import artifact_versions
from bucket_governance.policy import ActorKind

ESCALATING_OPERATIONS = ("UPDATE", "DELETE", "SCHEMA_CHANGE")


def ai_actor_ids(context: RuleContext) -> list[str]:
    return [a.id for a in context.policy.policy.actors if a.kind is ActorKind.AI]


@rule(
    "T6.automated_request",
    "an AI actor asked for UPDATE, DELETE, SCHEMA_CHANGE or cross-product access",
    proven_by="tests/unit/threats/test_t6.py",
)
def automated_request(context: RuleContext) -> Iterable[Hit]:
    query = ledger_in_window(
        context,
        L.c.actor_id.in_(ai_actor_ids(context)),
        or_(L.c.operation.in_(ESCALATING_OPERATIONS), reason_is("cross_product_access")),
    )
    return hits_by(context.conn.execute(query), "actor_id", {"operations": list(ESCALATING_OPERATIONS)})


def _escalations(context: RuleContext) -> list[ColumnElement[bool]]:
    """The requests ``T6.automated_request`` reports: an AI actor asking for more than its lane."""
    return [
        L.c.actor_id.in_(ai_actor_ids(context)),
        or_(L.c.operation.in_(ESCALATING_OPERATIONS), reason_is("cross_product_access")),
    ]


@rule(
    "T6.repeated_escalation",
    "one AI actor made at least N escalating requests (UPDATE, DELETE, SCHEMA_CHANGE, cross-product) in the window",
    proven_by="tests/unit/threats/test_t6.py",
    thresholds=("repeated_escalation_requests",),
)
def repeated_escalation(context: RuleContext) -> Iterable[Hit]:
    threshold = context.thresholds.repeated_escalation_requests
    repeaters = (
        select(L.c.actor_id)
        .where(*_in_window(context), *_escalations(context))
        .group_by(L.c.actor_id)
        .having(func.count() >= threshold)
    )
    actors = list(context.conn.execute(repeaters).scalars())
    if not actors:
        return []
    rows = context.conn.execute(ledger_in_window(context, *_escalations(context), L.c.actor_id.in_(actors)))
    return hits_by(rows, "actor_id", {"threshold": threshold, "operations": list(ESCALATING_OPERATIONS)})


PRESSURE_TARGET = func.coalesce(L.c.artifact_id, L.c.product_id)


@rule(
    "T6.pressure_pattern",
    "AI actors push one target (artifact, or product) with refused requests, in either form: N distinct AI actors "
    "refused on it in the window (N = pressure_min_actors); or a rising trend: the window cut into K equal slices "
    "(K = pressure_trend_slices), every slice holds a refusal, no slice holds fewer than the one before, and the "
    "last holds at least pressure_trend_min_last and at least pressure_trend_growth times the first. A target "
    "showing both forms is one hit; its evidence names the forms, the AI actors and the counts per slice",
    proven_by="tests/unit/threats/test_t6.py",
    thresholds=("pressure_min_actors", "pressure_trend_slices", "pressure_trend_min_last", "pressure_trend_growth"),
    version=2,
)
def pressure_pattern(context: RuleContext) -> Iterable[Hit]:
    crowded = set(_crowded_targets(context))
    rising = _rising_targets(context)
    targets = sorted(crowded | set(rising))
    if not targets:
        return []
    rows: dict[str, list[Any]] = defaultdict(list)
    for row in context.conn.execute(ledger_in_window(context, *_ai_refusals(context), PRESSURE_TARGET.in_(targets))):
        rows[row.artifact_id or row.product_id].append(row)
    owners = _target_products(context, targets)
    return [_pressure_hit(t, rows[t], owners, _pressure_evidence(context, t in crowded, rising.get(t)))
            for t in targets]  # fmt: skip


def _ai_refusals(context: RuleContext) -> tuple[ColumnElement[bool], ...]:
    """Refused requests of AI actors: the pressure both forms count."""
    return (L.c.actor_id.in_(ai_actor_ids(context)), L.c.decision == "DENY")


def _in_window(context: RuleContext) -> tuple[ColumnElement[bool], ...]:
    return (L.c.recorded_at_us >= context.window_start_us, L.c.recorded_at_us < context.window_end_us)


def _crowded_targets(context: RuleContext) -> list[str]:
    """Targets at least ``pressure_min_actors`` distinct AI actors were refused on."""
    pushed = (
        select(PRESSURE_TARGET)
        .where(*_in_window(context), *_ai_refusals(context))
        .group_by(PRESSURE_TARGET)
        .having(func.count(func.distinct(L.c.actor_id)) >= context.thresholds.pressure_min_actors)
    )
    return [t for t in context.conn.execute(pushed).scalars() if t is not None]


def _rising_targets(context: RuleContext) -> dict[str, list[int]]:
    """Targets whose refusals rise across the window's K equal slices, with their counts per slice.

    One grouped query: the slice of an entry is ``(recorded_at_us - start) * K // span``, integer arithmetic that
    SQLite and PostgreSQL evaluate alike (all operands are non-negative BIGINTs). Only targets x K counts come back.
    """
    slices = context.thresholds.pressure_trend_slices
    span = context.window_end_us - context.window_start_us
    if span < slices:  # a window shorter than K microseconds has no K slices to compare
        return {}
    slice_no = ((L.c.recorded_at_us - context.window_start_us) * slices // span).label("slice_no")
    query = (
        select(PRESSURE_TARGET.label("target"), slice_no, func.count().label("refusals"))
        .where(*_in_window(context), *_ai_refusals(context))
        .group_by(PRESSURE_TARGET, slice_no)
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * slices)
    for row in context.conn.execute(query):
        if row.target is not None:
            counts[row.target][row.slice_no] = row.refusals
    return {t: c for t, c in counts.items() if _is_rising(c, context)}


def _is_rising(counts: list[int], context: RuleContext) -> bool:
    """Sustained growth, not a burst: no empty slice, no fall, a last slice big enough and G times the first."""
    thresholds = context.thresholds
    return (
        min(counts) > 0
        and all(a <= b for a, b in pairwise(counts))
        and counts[-1] >= thresholds.pressure_trend_min_last
        and counts[-1] >= thresholds.pressure_trend_growth * counts[0]
    )


def _pressure_evidence(context: RuleContext, crowded: bool, slice_counts: list[int] | None) -> dict[str, Any]:
    thresholds = context.thresholds
    evidence: dict[str, Any] = {"forms": [], "threshold": thresholds.pressure_min_actors}
    if crowded:
        evidence["forms"].append("many_actors")
    if slice_counts is not None:
        evidence["forms"].append("rising_trend")
        evidence["slice_counts"] = slice_counts
        evidence["trend_thresholds"] = {
            "slices": thresholds.pressure_trend_slices,
            "min_last": thresholds.pressure_trend_min_last,
            "growth": thresholds.pressure_trend_growth,
        }
    return evidence


def _target_products(context: RuleContext, targets: list[str]) -> dict[str, str]:
    """The product each target belongs to: an artifact's own product, or the product itself."""
    av = artifact_versions.c
    found = context.conn.execute(
        select(av.artifact_id, av.product_id).where(av.artifact_id.in_(targets), av.version == 1)
    )
    owners = {p: p for p in targets if p in context.policy.products}
    owners.update({row.artifact_id: row.product_id for row in found})
    return owners


def _pressure_hit(target: str, rows: list[Any], owners: dict[str, str], evidence: dict[str, Any]) -> Hit:
    actors = sorted({r.actor_id for r in rows})
    (hit,) = hits_by(rows, "artifact_id", {"target": target, "ai_actors": actors, **evidence})
    return replace(hit, subject=target, product_id=owners.get(target, rows[0].product_id))
