"""The machinery behind injected incidents: their declaration, the context they act through, the ground truth.

An injection runs inside the quiet band of one simulated hour (``timeline.QUIET_BAND_US``), after the clean
writes and reads of that hour and before the next hour's, so the ledger clock still only moves forward and
the clean part of the history is the same with and without injections (only sequence numbers shift).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from bucket_governance.bucket.requests import AccessRequest, CreateRequest, Outcome
from bucket_governance.db.tables import artifact_versions
from bucket_governance.demo.manifest import Incident
from bucket_governance.demo.timeline import SECOND_US, SimulatedClock, Timeline

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bucket_governance.bucket.store import BucketStore
    from bucket_governance.demo.profile_base import ArtifactRecord, ProductProfile
    from bucket_governance.policy import LoadedPolicy

SubjectKind = Literal["actor", "integration", "artifact", "product", "policy"]
ExpectedDecision = Literal["ALLOW", "DENY", "NONE"]


@dataclass(frozen=True)
class InjectionTarget:
    """What a detector should name: the product and the subject of the finding."""

    product_id: str
    subject: str
    subject_kind: SubjectKind


@dataclass(frozen=True)
class Injection:
    """A named incident the demo can plant, declared with the detection rule that must find it."""

    name: str
    rule_id: str
    description: str
    apply: Callable[[InjectionContext], InjectionTarget]
    day_fraction: float  # how far into the history it happens …
    hour_utc: int  # … and at which hour of that day
    expected_decision: ExpectedDecision = "DENY"
    expected_reasons: tuple[str, ...] = ()  # each of its ledger entries carries all of these reason codes
    # Other rules this incident rightly trips too (e.g. repeated escalation is also automated requests); their
    # hits must lie inside the incident's own ledger entries to count as explained, not as false positives.
    also_fires: tuple[str, ...] = ()

    @property
    def threat_id(self) -> str:
        return self.rule_id.split(".", 1)[0]

    def hour_index(self, timeline: Timeline) -> int:
        """The first hour at ``hour_utc`` from ``day_fraction`` of the way in (or the last one before the end)."""
        base = min(int(self.day_fraction * timeline.hours), timeline.hours - 1)
        later = [i for i in range(base, min(base + 24, timeline.hours)) if timeline.hour_of_day(i) == self.hour_utc]
        earlier = [i for i in range(max(base - 24, 0), base) if timeline.hour_of_day(i) == self.hour_utc]
        return (later or earlier[-1:] or [base])[0]


@dataclass
class InjectionContext:
    """What an injection acts through: the governed store (or the engine, for attacks around the gate),
    the clean catalogue to pick targets from, and a clock that keeps its entries inside its quiet band."""

    name: str
    store: BucketStore
    engine: Engine
    policy: LoadedPolicy
    clock: SimulatedClock
    profiles: dict[str, ProductProfile]
    rng: random.Random
    start_us: int
    end_us: int
    step_us: tuple[int, int] = (100_000, 900_000)  # spacing of its entries: a burst of requests
    outcomes: list[Outcome] = field(default_factory=list)
    setup_seqs: list[int] = field(default_factory=list)
    direct_seqs: list[int] = field(default_factory=list)  # ledger rows an attack around the gate touched
    artifact_ids: list[str] = field(default_factory=list)
    times_us: list[int] = field(default_factory=list)

    @property
    def last_time_us(self) -> int:
        """The latest time this injection has claimed (its band's start before the first): what a request
        built now says it was made at, before ``create`` claims the next time for its ledger entry."""
        return self.times_us[-1] if self.times_us else self.start_us

    def next_time(self) -> int:
        previous = self.last_time_us
        at_us = previous + self.rng.randrange(*self.step_us)
        if at_us >= self.end_us:
            raise RuntimeError("an injection ran past its quiet band; give it fewer entries or a shorter step")
        self.times_us.append(at_us)
        return at_us

    def create(self, request: CreateRequest, *, setup: bool = False) -> Outcome:
        self.clock.load([self.next_time()])
        outcome = self.store.create(request)
        self._record(outcome, setup=setup)
        return outcome

    def submit(self, request: AccessRequest) -> Outcome:
        self.clock.load([self.next_time()])
        outcome = self.store.submit(request)
        self._record(outcome, setup=False)
        return outcome

    def record_direct(self, *, artifact_ids: tuple[str, ...] = (), seqs: tuple[int, ...] = ()) -> int:
        """For attacks around the gate (rows written with ``engine``, no ledger decision): claim a time for them
        inside the band and note what they touched; returns that time for the rows' ``created_at_us``."""
        at_us = self.next_time()
        self.artifact_ids += [a for a in artifact_ids if a not in self.artifact_ids]
        self.direct_seqs += list(seqs)
        return at_us

    def latest_metadata(self, product_id: str) -> dict[str, Any]:
        """The newest stored metadata of a product: a write that copies it looks like the clean history
        (the schema-drift rules see nothing new)."""
        av = artifact_versions.c
        query = (
            select(av.metadata)
            .where(av.product_id == product_id)
            .order_by(av.created_at_us.desc(), av.artifact_id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            text = conn.execute(query).scalar()
        return dict(json.loads(text)) if text else {}

    def clean_artifacts(self, product_id: str, kind: str | None = None) -> list[ArtifactRecord]:
        """What the clean history of ``product_id`` holds so far (oldest first), optionally of one kind."""
        profile = self.profiles[product_id]
        records = (profile.records[i] for i in profile.order)
        return [r for r in records if kind is None or r.kind == kind]

    def _record(self, outcome: Outcome, *, setup: bool) -> None:
        if setup:
            self.setup_seqs.append(outcome.seq)
        else:
            self.outcomes.append(outcome)
        if outcome.artifact_id and outcome.artifact_id not in self.artifact_ids:
            self.artifact_ids.append(outcome.artifact_id)


def run_injection(injection: Injection, context: InjectionContext) -> Incident:
    """Apply one injection and return its ground-truth record; a broken injection fails loudly."""
    target = injection.apply(context)
    _check_outcomes(injection, context.outcomes)
    reasons = sorted({r.code for o in context.outcomes for r in o.decision.reasons})
    return Incident(
        injection=injection.name,
        rule_id=injection.rule_id,
        also_fires=list(injection.also_fires),
        threat_id=injection.threat_id,
        description=injection.description,
        product_id=target.product_id,
        subject=target.subject,
        subject_kind=target.subject_kind,
        window_start_us=min(context.times_us, default=context.start_us),
        window_end_us=max(context.times_us, default=context.start_us),
        decision=injection.expected_decision,
        reason_codes=reasons,
        ledger_seqs=[o.seq for o in context.outcomes] + context.direct_seqs,
        setup_seqs=context.setup_seqs,
        artifact_ids=context.artifact_ids,
    )


def _check_outcomes(injection: Injection, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        decision = "ALLOW" if outcome.allowed else "DENY"
        codes = {r.code for r in outcome.decision.reasons}
        missing = set(injection.expected_reasons) - codes
        if decision != injection.expected_decision or missing:
            raise RuntimeError(
                f"injection {injection.name!r} expected {injection.expected_decision} with "
                f"{sorted(injection.expected_reasons)} but ledger seq {outcome.seq} is {decision} with {sorted(codes)}"
            )


def quiet_band_start(timeline: Timeline, hour_index: int, previous_end_us: int | None) -> int:
    """Where the next injection of an hour starts: a few seconds into the band, or after the previous one."""
    band_start, _ = timeline.quiet_band(hour_index)
    return max(band_start + 5 * SECOND_US, (previous_end_us or 0) + 2 * SECOND_US)


__all__ = [
    "Injection",
    "InjectionContext",
    "InjectionTarget",
    "quiet_band_start",
    "run_injection",
]
