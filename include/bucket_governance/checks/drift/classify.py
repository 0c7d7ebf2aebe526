"""Failed expectations → located changes, each additive or breaking, each mapped to a T3 rule.

GX says *which* expectation failed and how many rows it counted; this module finds *where*: the offending
versions (first/last seen, sample ids) by looking again at only the failing fields' values. Classes:

* ``new_field`` → ``T3.new_required_field``: additive when writers treat it as optional (some versions written
  after it appeared lack it) and the versions carrying it still carry every required field; breaking
  otherwise (it is required from now on, or it replaces a required field — a rename).
* ``field_removal`` (a required field missing) and ``newly_nullable`` (a required field sent as null)
  → ``T3.field_removal``, breaking.
* ``type_change`` (a value of another JSON type) and ``value_not_allowed`` (outside the declared allowed
  values) → ``T3.type_change``, breaking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bucket_governance.checks.drift.baselines import Baseline, FieldSpec
from bucket_governance.checks.drift.frame import MetadataWindow, accepts, json_type
from bucket_governance.checks.drift.suite import ExpectationOutcome, Validation

SAMPLE_IDS = 10
MAX_OCCURRENCES = 2_000
RULES = {
    "new_field": "T3.new_required_field",
    "field_removal": "T3.field_removal",
    "newly_nullable": "T3.field_removal",
    "type_change": "T3.type_change",
    "value_not_allowed": "T3.type_change",
}
_MISSING = object()


@dataclass(frozen=True)
class Change:
    field: str
    change: str
    classification: str  # additive | breaking
    expected: Any
    observed: Any
    count: int
    first_seen_us: int
    last_seen_us: int
    sample_artifact_ids: tuple[str, ...]
    occurrence_keys: tuple[str, ...] = ()

    @property
    def rule_id(self) -> str:
        return RULES[self.change]

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("occurrence_keys")
        doc["sample_artifact_ids"] = list(self.sample_artifact_ids)
        doc["rule_id"] = self.rule_id
        return doc


def classify(baseline: Baseline, window: MetadataWindow, validation: Validation) -> list[Change]:
    specs = baseline.by_name
    changes: list[Change] = []
    for outcome in validation.failed:
        if outcome.kind == "column_set":
            changes += [_new_field(name, baseline, window) for name in outcome.unexpected_columns]
        elif outcome.column in specs:
            changes += _field_changes(outcome, specs[outcome.column], window)
    return sorted(changes, key=lambda c: (c.first_seen_us, c.field, c.change))


def _field_changes(outcome: ExpectationOutcome, spec: FieldSpec, window: MetadataWindow) -> list[Change]:
    name = spec.name
    if outcome.kind == "not_null":
        missing = _rows(window, lambda row: name not in row)
        nulls = _rows(window, lambda row: name in row and row[name] is None)
        found = [("field_removal", missing, "absent"), ("newly_nullable", nulls, "null")]
        return [
            _located(window, name, kind, rows, {"required": True, "type": spec.type}, observed, "breaking")
            for kind, rows, observed in found
            if rows
        ]
    if outcome.kind == "type_change":
        rows = _rows(window, lambda row: row.get(name) is not None and not accepts(spec.type, json_type(row[name])))
        observed = dict(Counter(json_type(window.rows[i][name]) for i in rows))
        return [_located(window, name, "type_change", rows, spec.type, observed, "breaking")] if rows else []
    if outcome.kind == "allowed_values" and spec.allowed_values is not None:
        allowed = set(spec.allowed_values)
        rows = _rows(window, lambda row: row.get(name) is not None and _hashable(row[name]) not in allowed)
        values = sorted({str(window.rows[i][name]) for i in rows})[:SAMPLE_IDS]
        return [_located(window, name, "value_not_allowed", rows, list(allowed), values, "breaking")] if rows else []
    return []


def _new_field(name: str, baseline: Baseline, window: MetadataWindow) -> Change:
    carrying = _rows(window, lambda row: name in row)
    first = carrying[0] if carrying else 0
    later_without = any(name not in row for row in window.rows[first:])
    required = [f.name for f in baseline.fields if f.required]
    replaces = sorted({r for i in carrying for r in required if window.rows[i].get(r, _MISSING) in (_MISSING, None)})
    optional = later_without and not replaces
    observed: dict[str, Any] = {
        "types": dict(Counter(json_type(window.rows[i][name]) for i in carrying)),
        "present_in": len(carrying),
        "of_versions_since_first_seen": len(window.rows) - first,
    }
    if replaces:
        observed["carried_without_required"] = replaces
    return _located(
        window,
        name,
        "new_field",
        carrying,
        "absent from the baseline",
        observed,
        "additive" if optional else "breaking",
    )


def _rows(window: MetadataWindow, predicate: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [i for i, row in enumerate(window.rows) if predicate(row)]


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, list | dict) else str(value)


def _located(
    window: MetadataWindow,
    name: str,
    change: str,
    rows: list[int],
    expected: Any,
    observed: Any,
    classification: str,
) -> Change:
    labels = [window.label(i) for i in rows]
    return Change(
        field=name,
        change=change,
        classification=classification,
        expected=expected,
        observed=observed,
        count=len(rows),
        first_seen_us=window.created_us[rows[0]],
        last_seen_us=window.created_us[rows[-1]],
        sample_artifact_ids=tuple(labels[:SAMPLE_IDS]),
        occurrence_keys=tuple(labels[:MAX_OCCURRENCES]),
    )
