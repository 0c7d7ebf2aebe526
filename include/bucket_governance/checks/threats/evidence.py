"""Gather a rule's occurrences from several queries (refused attempts, stored rows) into one hit per subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bucket_governance.checks.threats.context import Hit

EVIDENCE_CAP = 200  # evidence lists stay readable; the count still covers every occurrence


@dataclass
class _Group:
    product_id: str | None
    first_us: int
    last_us: int
    items: dict[str, list[Any]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


@dataclass
class SubjectHits:
    """One hit per subject; each occurrence has a stable key, so overlapping windows count it once."""

    evidence: dict[str, Any] = field(default_factory=dict)  # shared by every hit: thresholds, limits
    _groups: dict[str, _Group] = field(default_factory=dict)

    def add(self, subject: str, product_id: str | None, at_us: int, kind: str, item: Any, key: str) -> None:
        group = self._groups.get(subject)
        if group is None:
            group = self._groups[subject] = _Group(product_id, at_us, at_us)
        group.product_id = group.product_id or product_id
        group.first_us, group.last_us = min(group.first_us, at_us), max(group.last_us, at_us)
        group.items.setdefault(kind, []).append(item)
        group.keys.add(key)

    def hits(self) -> list[Hit]:
        return [self._hit(subject, group) for subject, group in sorted(self._groups.items())]

    def _hit(self, subject: str, group: _Group) -> Hit:
        listed = {kind: items[:EVIDENCE_CAP] for kind, items in sorted(group.items.items())}
        return Hit(
            subject=subject,
            product_id=group.product_id,
            first_seen_us=group.first_us,
            last_seen_us=group.last_us,
            evidence={**self.evidence, **listed, "count_in_window": len(group.keys)},
            occurrence_keys=tuple(sorted(group.keys)),
            count=len(group.keys),
        )
