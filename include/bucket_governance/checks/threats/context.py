"""What a rule sees (its window, the policy, a connection) and what it returns (hits, or "not evaluated")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from bucket_governance.policy import LoadedPolicy

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND


@dataclass(frozen=True)
class RuleContext:
    conn: Connection
    policy: LoadedPolicy
    window_start_us: int  # inclusive
    window_end_us: int  # exclusive

    def lookback_start(self, lookback: timedelta) -> int:
        return self.window_start_us - int(lookback.total_seconds() * US_PER_SECOND)

    @property
    def thresholds(self):  # type: ignore[no-untyped-def]  # ThreatThresholds; short name at call sites
        return self.policy.policy.threat_thresholds


@dataclass(frozen=True)
class Hit:
    """One detected incident: who/what it concerns, when, and the evidence that tripped the rule."""

    subject: str
    product_id: str | None
    first_seen_us: int
    last_seen_us: int
    evidence: dict[str, Any]
    occurrence_keys: tuple[str, ...] = ()  # e.g. ledger seqs; a finding counts distinct keys across runs
    count: int = 1
    window_key: str | None = None  # default: the UTC day of first_seen (one finding per rule+subject+day)

    def key(self) -> str:
        return self.window_key or f"day:{self.first_seen_us // US_PER_DAY}"


@dataclass(frozen=True)
class NotEvaluated:
    """A rule that could not run (e.g. its source pipeline has not produced results): never a silent pass."""

    reason: str


@dataclass
class RuleOutcome:
    rule_id: str
    status: str  # evaluated | not_evaluated | error
    hits: list[Hit] = field(default_factory=list)
    detail: str = ""


def seq_keys(seqs: list[int] | tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"seq:{s}" for s in seqs)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else {}
