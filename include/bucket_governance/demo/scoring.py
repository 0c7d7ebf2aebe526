"""Score findings against the demo's ground truth: recall (every incident found under its rule) and precision.

An incident is found when a finding has its rule id and its subject. A finding is expected when some incident
names its (rule, subject) — directly or among the rules it legitimately also fires (``also_fires``). A product
named as an incident's subject covers findings about that product's parts (schema drift names
``product/Class:field``), so a field-level finding counts for the product-level incident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bucket_governance.demo.manifest import Manifest


@dataclass
class Score:
    found: list[tuple[str, str]] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 1.0

    @property
    def precision(self) -> float:
        reported = len(self.found) + len(self.unexpected)
        return len(self.found) / reported if reported else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "recall": self.recall,
            "precision": self.precision,
            "found": [list(p) for p in self.found],
            "missed": [list(p) for p in self.missed],
            "unexpected": [list(p) for p in self.unexpected],
        }


def score(manifest: Manifest, findings: Iterable[dict[str, Any]]) -> Score:
    products = {i.subject for i in manifest.incidents}
    reported = {(f["rule_id"], _covering(f["subject"], products)) for f in findings}
    truth = {(i.rule_id, i.subject) for i in manifest.incidents}
    tolerated = truth | {(rule, i.subject) for i in manifest.incidents for rule in getattr(i, "also_fires", ())}
    return Score(
        found=sorted(truth & reported),
        missed=sorted(truth - reported),
        unexpected=sorted(reported - tolerated),
    )


def _covering(subject: str, incident_subjects: set[str]) -> str:
    """``product/Class:field`` → ``product`` when an incident names that product; else the subject itself."""
    head = subject.split("/", 1)[0]
    return head if "/" in subject and head in incident_subjects else subject
