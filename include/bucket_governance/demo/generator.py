"""Write a synthetic, deterministic multi-week history for the five demo products through the governed store.

Every write and read is a real request to :class:`BucketStore`, so every one is a ledger entry; the store
runs on a simulated clock, so the history spans the ``days`` before ``end_us``. The same seed and end time
give byte-identical ledger entry hashes, on SQLite and on PostgreSQL alike.

The clean history is CLEAN: every request is allowed (anything else aborts the run), writes stay far below
every rate limit, parents exist and are older than their children, claimed times are within seconds of the
server time. Injected incidents (``demo.injections``) are planted in quiet bands between clean hours, so the
clean part is the same with or without them.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bucket_governance.bucket.policy_approval import approve_initial_policy
from bucket_governance.bucket.store import BucketStore, now_us
from bucket_governance.demo.batcher import Batcher, Progress, SentCounts
from bucket_governance.demo.injection_context import Injection, InjectionContext, quiet_band_start, run_injection
from bucket_governance.demo.injections import resolve_injections
from bucket_governance.demo.manifest import Incident, write_manifest
from bucket_governance.demo.profile_base import ProductProfile
from bucket_governance.demo.profiles import PROFILE_TYPES, build_profiles
from bucket_governance.demo.result import DemoResult, ProductCounts
from bucket_governance.demo.timeline import (
    READ_PHASE_US,
    WRITE_PHASE_US,
    SimulatedClock,
    Timeline,
    allocate,
    draw_times,
)
from bucket_governance.errors import InvalidInputError
from bucket_governance.ledger.chain import ledger_head
from bucket_governance.policy import LoadedPolicy

log = logging.getLogger(__name__)

ROLES = ("owner", "engineer", "executor", "agent", "service")
AUDITOR = "auditor.enforcement"


def generate_demo(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    seed: int = 7,
    days: int = 28,
    scale: float = 1.0,
    end_us: int | None = None,
    inject: str | Sequence[str] = "none",
    manifest_path: Path | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Write the demo history into an empty, migrated database and return what was written.

    ``scale`` 1.0 is about 20,000 artifact versions over 28 days (it scales with ``days`` too); ``inject`` is
    ``"none"``, ``"all"`` or names from ``demo.injections.REGISTRY``; ``progress(done, total)`` is called after
    every transaction.
    """
    started = time.perf_counter()
    _check_options(days, scale)
    injections = resolve_injections(inject)
    check_policy_fits(policy)
    _require_empty_ledger(engine)
    timeline = Timeline.ending_at(now_us() if end_us is None else end_us, days)
    history = _History(engine, policy, timeline, seed, scale, progress)
    # The history starts from an approved policy, as `bucket-gov init` leaves a deployment (T5.emergency_hotfix).
    approve_initial_policy(engine, policy, now_us=timeline.start_us)
    incidents = history.run(injections)
    with engine.connect() as conn:
        last_seq, last_hash = ledger_head(conn)
    result = DemoResult(
        seed=seed,
        days=days,
        scale=scale,
        start_us=timeline.start_us,
        end_us=timeline.end_us,
        ledger_entries=last_seq,
        last_entry_hash=last_hash,
        products=history.counts(),
        incidents=tuple(incidents),
        elapsed_seconds=time.perf_counter() - started,
    )
    if manifest_path is not None:
        write_manifest(result.manifest(), manifest_path)
    log.info("demo history: %s ledger entries in %.1f s", last_seq, result.elapsed_seconds)
    return result


def check_policy_fits(policy: LoadedPolicy) -> None:
    """The demo writes as the demo policy's actors; say clearly when the policy in force lacks them."""
    missing = []
    for cls in PROFILE_TYPES:
        product = policy.products.get(cls.product_id)
        if product is None or cls.artifact_class not in product.artifact_classes:
            missing.append(f"product {cls.product_id} storing {cls.artifact_class}")
        missing += [f"actor {cls.product_id}.{r}" for r in ROLES if f"{cls.product_id}.{r}" not in policy.actors]
        if f"{cls.product_id}.gateway" not in policy.integrations:
            missing.append(f"integration {cls.product_id}.gateway")
    if AUDITOR not in policy.actors:
        missing.append(f"actor {AUDITOR}")
    if missing:
        raise InvalidInputError(
            "demo_policy_mismatch",
            f"the demo needs the demo policy (include/policy); the policy in force lacks: {', '.join(sorted(missing))}",
        )


def _check_options(days: int, scale: float) -> None:
    if days < 1:
        raise InvalidInputError("demo_option_invalid", f"days must be at least 1, got {days}")
    if not (math.isfinite(scale) and scale > 0):
        raise InvalidInputError(
            "demo_option_invalid", f"scale must be a positive number (1.0 ≈ 20k versions), got {scale}"
        )


def _require_empty_ledger(engine: Engine) -> None:
    with engine.connect() as conn:
        seq, _ = ledger_head(conn)
    if seq:
        raise InvalidInputError(
            "demo_needs_empty_database",
            f"the database already holds {seq} ledger entries; the demo writes a past history into an empty one: "
            "use a fresh database",
        )


@dataclass
class _Plan:
    """How many writes and reads one product makes in each hour of the timeline."""

    profile: ProductProfile
    writes: list[int]
    reads: list[int]


class _History:
    """Walks the timeline hour by hour: the hour's writes, its reads, then any incident planted in it."""

    def __init__(
        self,
        engine: Engine,
        policy: LoadedPolicy,
        timeline: Timeline,
        seed: int,
        scale: float,
        progress: Progress | None,
    ) -> None:
        self.engine, self.policy, self.timeline, self.seed = engine, policy, timeline, seed
        self.clock = SimulatedClock()
        self.store = BucketStore(engine, policy, clock=self.clock)
        self.rng = random.Random(f"{seed}:schedule")
        self.plans = [self._plan(profile, scale) for profile in build_profiles(seed)]
        planned = sum(sum(p.writes) + sum(p.reads) for p in self.plans)
        self.batcher = Batcher(self.store, self.clock, int(policy.limits.batch_size.max), progress, planned)

    def run(self, injections: list[Injection]) -> list[Incident]:
        placed: dict[int, list[Injection]] = {}
        for injection in injections:
            placed.setdefault(injection.hour_index(self.timeline), []).append(injection)
        self.batcher.total += len(injections)
        incidents: list[Incident] = []
        for hour in range(self.timeline.hours):
            self._write_hour(hour)
            self._read_hour(hour)
            if hour in placed:
                self.batcher.flush()  # the clean entries before the band must be in the ledger first
                incidents += self._inject(hour, placed[hour])
        self.batcher.flush()
        return incidents

    def counts(self) -> dict[str, ProductCounts]:
        counts = {}
        for plan in self.plans:
            sent = self.batcher.counts.get(plan.profile.product_id, SentCounts())
            counts[plan.profile.product_id] = ProductCounts(
                versions=sent.versions, artifacts=len(plan.profile.records), reads=sent.reads, bytes=sent.bytes
            )
        return counts

    def _plan(self, profile: ProductProfile, scale: float) -> _Plan:
        days = self.timeline.days
        writes = max(1, round(profile.versions_per_day * days * scale))
        reads = max(1, round(profile.reads_per_day * days * scale))
        return _Plan(
            profile,
            allocate(writes, profile.write_shape, self.timeline, self.rng),
            allocate(reads, profile.read_shape, self.timeline, self.rng),
        )

    def _write_hour(self, hour: int) -> None:
        for at_us, profile in self._slots(hour, [p.writes[hour] for p in self.plans], WRITE_PHASE_US):
            self.batcher.add_write(at_us, profile.product_id, profile.next_write(at_us))

    def _read_hour(self, hour: int) -> None:
        for at_us, profile in self._slots(hour, [p.reads[hour] for p in self.plans], READ_PHASE_US):
            request = profile.next_read(at_us)
            if request is None:
                self.batcher.skip()  # nothing written yet to read
            else:
                self.batcher.add_read(at_us, profile.product_id, request)

    def _slots(self, hour: int, counts: list[int], phase: tuple[int, int]) -> list[tuple[int, ProductProfile]]:
        """Times for the hour's events, products interleaved at random."""
        owners = [plan.profile for plan, n in zip(self.plans, counts, strict=True) for _ in range(n)]
        self.rng.shuffle(owners)
        times = draw_times(self.rng, self.timeline.hour_start(hour), len(owners), phase)
        return list(zip(times, owners, strict=True))

    def _inject(self, hour: int, injections: list[Injection]) -> list[Incident]:
        incidents: list[Incident] = []
        _, band_end = self.timeline.quiet_band(hour)
        for injection in injections:
            previous_end = incidents[-1].window_end_us if incidents else None
            context = InjectionContext(
                name=injection.name,
                store=self.store,
                engine=self.engine,
                policy=self.policy,
                clock=self.clock,
                profiles={p.profile.product_id: p.profile for p in self.plans},
                rng=random.Random(f"{self.seed}:{injection.name}"),
                start_us=quiet_band_start(self.timeline, hour, previous_end),
                end_us=band_end,
            )
            incidents.append(run_injection(injection, context))
            self.batcher.skip()
        return incidents
