"""T10 Over-trust in provenance: the "why" and the "from what" of stored versions, checked against the Bucket.

Every rule reads the versions the server recorded in the window (the gate does not check provenance, so
stored data is the whole story) and names the child artifact. Parents are ``{"artifact_id", "version"}``
objects in ``provenance.parents``; they are looked up in one query per window. Client-claimed time is
judged two ways, disjoint: ``T2.backdated_timestamp`` reads the version's ``claimed_at_us`` column;
``T10.timestamp_trust`` reads the times a provenance document states for itself or for its parents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bucket_governance.checks.threats.context import US_PER_SECOND, Hit, RuleContext
from bucket_governance.checks.threats.evidence import SubjectHits
from bucket_governance.checks.threats.registry import rule
from bucket_governance.checks.threats.rules.t9 import A, stored_in_window, version_key

PROVEN_BY = "tests/unit/threats/test_t10.py"
LOOKUP_CHUNK = 500  # artifact ids per parent lookup: far below every dialect's bound-parameter limit


@dataclass(frozen=True)
class _Stored:
    """A window version with its provenance parsed (an object, or {} when it is not one)."""

    row: Any
    provenance: dict[str, Any]

    def parents(self) -> list[Any]:
        parents = self.provenance.get("parents", [])
        return parents if isinstance(parents, list) else [parents]


def _window_versions(context: RuleContext, *conditions: Any) -> Iterator[_Stored]:
    for row in context.conn.execute(stored_in_window(context, *conditions)):
        try:
            parsed = json.loads(row.provenance)
        except ValueError:
            parsed = None
        yield _Stored(row, parsed if isinstance(parsed, dict) else {})


# -- T10.missing_why -----------------------------------------------------------------------------------------


@rule(
    "T10.missing_why",
    "a version of a class that requires intent (e.g. DecisionArtifact) stored without a non-empty provenance.intent",
    proven_by=PROVEN_BY,
)
def missing_why(context: RuleContext) -> Iterable[Hit]:
    classes = sorted(c.name for c in context.policy.policy.artifact_classes if c.requires_intent)
    if not classes:
        return []  # nothing in the policy requires a "why": evaluated, and nothing to find
    found = SubjectHits({"classes_requiring_intent": classes})
    for stored in _window_versions(context, A.artifact_class.in_(classes)):
        intent = stored.provenance.get("intent")
        if not (isinstance(intent, str) and intent.strip()):
            row = stored.row
            item = {"artifact_id": row.artifact_id, "version": row.version, "created_by": row.created_by}
            found.add(row.artifact_id, row.product_id, row.created_at_us, "stored", item, version_key(row))
    return found.hits()


# -- parents: one lookup per window --------------------------------------------------------------------------


def _parent_ref(parent: Any) -> tuple[str, int | None] | None:
    """(artifact id, version or None for "some version"), or None when the reference names nothing checkable."""
    if not isinstance(parent, dict) or not isinstance(parent.get("artifact_id"), str):
        return None
    version = parent.get("version")
    if version is None:
        return parent["artifact_id"], None
    if isinstance(version, int) and not isinstance(version, bool):
        return parent["artifact_id"], version
    return None


def _parent_times(context: RuleContext, versions: list[_Stored]) -> dict[tuple[str, int | None], int]:
    """Server time of every referenced parent that exists; (id, None) maps to the artifact's first version."""
    ids = sorted({ref[0] for s in versions for p in s.parents() if (ref := _parent_ref(p)) is not None})
    times: dict[tuple[str, int | None], int] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        query = select(A.artifact_id, A.version, A.created_at_us).where(
            A.artifact_id.in_(ids[start : start + LOOKUP_CHUNK])
        )
        for artifact_id, version, created_us in context.conn.execute(query):
            times[(artifact_id, version)] = created_us
            first = times.get((artifact_id, None))
            times[(artifact_id, None)] = created_us if first is None else min(first, created_us)
    return times


def _with_parents(context: RuleContext) -> tuple[list[_Stored], dict[tuple[str, int | None], int]]:
    versions = [s for s in _window_versions(context) if s.parents()]
    return versions, _parent_times(context, versions)


# -- T10.unverified_metadata ---------------------------------------------------------------------------------


@rule(
    "T10.unverified_metadata",
    "provenance parents that do not exist in the Bucket (no such artifact version, or a reference naming none)",
    proven_by=PROVEN_BY,
)
def unverified_metadata(context: RuleContext) -> Iterable[Hit]:
    versions, times = _with_parents(context)
    found = SubjectHits()
    for stored in versions:
        missing = [p for p in stored.parents() if (ref := _parent_ref(p)) is None or ref not in times]
        if missing:
            row = stored.row
            item = {"artifact_id": row.artifact_id, "version": row.version, "missing_parents": missing[:20]}
            found.add(row.artifact_id, row.product_id, row.created_at_us, "stored", item, version_key(row))
    return found.hits()


# -- T10.timestamp_trust -------------------------------------------------------------------------------------


@rule(
    "T10.timestamp_trust",
    "a parent the server recorded after its child, or a provenance time (a *_at / *_at_us field of provenance or "
    "of a parent reference) off the server time by more than the tolerance; claimed_at_us is T2's",
    proven_by=PROVEN_BY,
    thresholds=("limits.tolerances.claimed_time_seconds",),
)
def timestamp_trust(context: RuleContext) -> Iterable[Hit]:
    seconds = context.policy.limits.tolerances.claimed_time_seconds
    tolerance = seconds * US_PER_SECOND
    found = SubjectHits({"tolerance_seconds": seconds})
    versions = list(_window_versions(context))
    times = _parent_times(context, [s for s in versions if s.parents()])
    for stored in versions:
        problems = _own_time_problems(stored, tolerance) + _parent_problems(stored, times, tolerance)
        if problems:
            row = stored.row
            item = {"artifact_id": row.artifact_id, "version": row.version, "problems": problems[:20]}
            found.add(row.artifact_id, row.product_id, row.created_at_us, "stored", item, version_key(row))
    return found.hits()


def _own_time_problems(stored: _Stored, tolerance: int) -> list[dict[str, Any]]:
    server_us = stored.row.created_at_us
    return [
        {"kind": "provenance_time_disagrees", "field": name, "claimed_us": claimed, "server_us": server_us}
        for name, claimed in _stated_times(stored.provenance)
        if abs(claimed - server_us) > tolerance
    ]


def _parent_problems(stored: _Stored, times: dict[tuple[str, int | None], int], tolerance: int) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    for parent in stored.parents():
        ref = _parent_ref(parent)
        parent_us = times.get(ref) if ref is not None else None
        if parent_us is None:
            continue  # a parent that does not exist is T10.unverified_metadata's
        if parent_us > stored.row.created_at_us:
            problems.append({"kind": "parent_after_child", "parent": parent, "parent_created_us": parent_us})
        problems += [
            {"kind": "parent_time_disagrees", "parent": parent, "field": name, "server_us": parent_us}
            for name, claimed in _stated_times(parent)
            if abs(claimed - parent_us) > tolerance
        ]
    return problems


def _stated_times(document: dict[str, Any]) -> list[tuple[str, int]]:
    """Times a document states for itself: ``*_at_us`` integers (µs) and ``*_at`` ISO 8601 strings (UTC if naive)."""
    stated = []
    for name, value in document.items():
        if name.endswith("_at_us") and isinstance(value, int) and not isinstance(value, bool):
            stated.append((name, value))
        elif name.endswith("_at") and isinstance(value, str) and (parsed := _iso_us(value)) is not None:
            stated.append((name, parsed))
    return stated


def _iso_us(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None  # not a time: nothing is claimed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * US_PER_SECOND)
