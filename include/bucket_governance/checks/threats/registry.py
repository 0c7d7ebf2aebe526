"""The threat catalogue (T1…T10) and the registry of detection rules.

A rule is a small function registered with ``@rule``: it reads the scan window (plus the look-back it
declares) through a :class:`RuleContext` and yields :class:`Hit` objects. Metadata — threat, severity,
playbook, description, thresholds — lives here, so docs and the API are generated from the same registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext


@dataclass(frozen=True)
class Threat:
    threat_id: str
    name: str
    severity: str
    playbook: str


THREATS: dict[str, Threat] = {
    t.threat_id: t
    for t in (
        Threat("T1", "Storage exhaustion", "HIGH", "F8"),
        Threat("T2", "Metadata poisoning", "CRITICAL", "F1"),
        Threat("T3", "Silent schema evolution", "HIGH", "F10"),
        Threat("T4", "Concurrent write collision", "MEDIUM", "F9"),
        Threat("T5", "Executor override", "CRITICAL", "F1"),
        Threat("T6", "AI escalation cascade", "MEDIUM", "F2"),
        Threat("T7", "Cross-product contamination", "HIGH", "F1"),
        Threat("T8", "Audit trail tampering", "CRITICAL", "F7"),
        Threat("T9", "Legal ownership challenge", "HIGH", "F7"),
        Threat("T10", "Over-trust in provenance", "MEDIUM", "F5"),
    )
}

Detector = Callable[["RuleContext"], "Iterable[Hit] | NotEvaluated"]


@dataclass(frozen=True)
class Rule:
    rule_id: str  # "T<n>.<pattern>"
    description: str
    detector: Detector
    lookback: timedelta
    version: int
    playbook: str
    thresholds: tuple[str, ...]  # names of the policy thresholds/limits the rule reads (for the docs)
    proven_by: str  # the test that fires it on a crafted case and stays silent on a near miss

    @property
    def threat_id(self) -> str:
        return self.rule_id.split(".", 1)[0]

    @property
    def pattern(self) -> str:
        return self.rule_id.split(".", 1)[1]

    @property
    def threat(self) -> Threat:
        return THREATS[self.threat_id]

    @property
    def severity(self) -> str:
        return self.threat.severity

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "threat_id": self.threat_id,
            "threat": self.threat.name,
            "pattern": self.pattern,
            "severity": self.severity,
            "description": self.description,
            "playbook": self.playbook,
            "lookback_seconds": int(self.lookback.total_seconds()),
            "version": self.version,
            "thresholds": list(self.thresholds),
            "proven_by": self.proven_by,
        }


_RULES: dict[str, Rule] = {}
# Modules holding the rules, one per threat; imported on first use so registering has no import-order trap.
RULE_MODULES = (
    *(f"bucket_governance.checks.threats.rules.t{n}" for n in range(1, 11)),
    "bucket_governance.checks.threats.rules.t5_integrity",
)


def rule(
    rule_id: str,
    description: str,
    *,
    proven_by: str,
    lookback: timedelta = timedelta(0),
    playbook: str | None = None,
    thresholds: tuple[str, ...] = (),
    version: int = 1,
) -> Callable[[Detector], Detector]:
    threat_id = rule_id.split(".", 1)[0]
    if threat_id not in THREATS or "." not in rule_id:
        raise ValueError(f"rule id {rule_id!r} must look like T<n>.<pattern> with T1…T10")

    def register(detector: Detector) -> Detector:
        if rule_id in _RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        _RULES[rule_id] = Rule(
            rule_id=rule_id,
            description=description,
            detector=detector,
            lookback=lookback,
            version=version,
            playbook=playbook or THREATS[threat_id].playbook,
            thresholds=thresholds,
            proven_by=proven_by,
        )
        return detector

    return register


def all_rules() -> list[Rule]:
    for module in RULE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real import error inside a rule module must not be hidden
                raise
    return sorted(_RULES.values(), key=lambda r: (int(r.threat_id[1:]), r.rule_id))


def select_rules(threats: Iterable[str] = (), rule_ids: Iterable[str] = ()) -> list[Rule]:
    wanted_threats, wanted_rules = set(threats), set(rule_ids)
    rules = all_rules()
    known = {r.rule_id for r in rules}
    unknown = sorted(wanted_rules - known) + sorted(wanted_threats - set(THREATS))
    if unknown:
        from bucket_governance.errors import InvalidInputError

        raise InvalidInputError("rule_unknown", f"unknown threat or rule: {', '.join(unknown)}")
    return [
        r
        for r in rules
        if (not wanted_threats or r.threat_id in wanted_threats) and (not wanted_rules or r.rule_id in wanted_rules)
    ]
