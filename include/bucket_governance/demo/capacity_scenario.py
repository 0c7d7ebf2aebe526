"""A capacity scenario with a known answer: one product growing into its quota, one flat, one noisy.

The clean demo covers a few weeks at a small scale — too short and too calm to project a year ahead. This
scenario writes ``HISTORY_DAYS`` days **through the governed store** on a simulated clock (every write a
ledger entry, usage aggregated by the same SQL as production), against the demo policy with quotas scaled
down to MiB so the run takes seconds instead of writing hundreds of GB:

* ``gurukul`` (growing) — bytes stored compound at ``GROWTH_PER_DAY``; the expected curve reaches the
  critical level (99 % of its quota) ``TRUE_DAYS_TO_CRITICAL`` days after the history ends;
* ``enforcement`` (flat) — a bulk load, then a trickle: far from its quota, no breach;
* ``workflow`` (noisy) — a few small writes a day and rare large bursts of random size: a trend line
  through it would be confidently wrong, so the projection must say UNPREDICTABLE.

``python -m bucket_governance.demo.capacity_scenario --db URL --policy-dir DIR`` writes it and the scaled
policy (point ``BUCKET_GOV_POLICY_DIR`` at DIR for ``bucket-gov capacity``).
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import ByteSize
from sqlalchemy import Engine

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.demo.timeline import SimulatedClock
from bucket_governance.policy import LoadedPolicy

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
HISTORY_DAYS = 120
START = datetime(2026, 5, 1, tzinfo=UTC)
QUOTA = 16 * 1024 * 1024  # every scenario product: 16 MiB
GROWING, FLAT, NOISY = "gurukul", "enforcement", "workflow"
GROWTH_PER_DAY = 0.012
TRUE_DAYS_TO_CRITICAL = 75
WRITERS = {
    GROWING: ("gurukul.engineer", "gurukul.gateway", "ContentArtifact"),
    FLAT: ("enforcement.agent", "enforcement.gateway", "DecisionArtifact"),
    NOISY: ("workflow.engineer", "workflow.gateway", "ExecutionTrace"),
}


@dataclass(frozen=True)
class CapacityScenario:
    policy: LoadedPolicy
    start_us: int
    end_us: int  # the end of the history: projections are made as of here
    writes: int

    @property
    def true_days_to_critical(self) -> dict[str, int | None]:
        return {GROWING: TRUE_DAYS_TO_CRITICAL, FLAT: None, NOISY: None}


def scenario_policy(base: LoadedPolicy) -> LoadedPolicy:
    """The demo policy with every product's quota at ``QUOTA`` bytes."""
    products = [p.model_copy(update={"quota": ByteSize(QUOTA)}) for p in base.policy.products]
    return LoadedPolicy(policy=base.policy.model_copy(update={"products": products}), sources=base.sources)


def growing_bytes(day: float) -> float:
    """The growing product's expected bytes stored at the end of ``day`` (0 = first day of the history)."""
    critical = 0.99 * QUOTA
    return critical * math.exp(GROWTH_PER_DAY * (day - (HISTORY_DAYS - 1) - TRUE_DAYS_TO_CRITICAL))


def write_capacity_scenario(engine: Engine, base: LoadedPolicy, *, seed: int = 7) -> CapacityScenario:
    """Write the scenario into a migrated, empty Bucket; returns what the projections should find."""
    policy = scenario_policy(base)
    clock = SimulatedClock()
    store = BucketStore(engine, policy, clock=clock)
    rng = random.Random(seed)
    start_us = int(START.timestamp()) * 1_000_000
    writes = 0
    for day in range(HISTORY_DAYS):
        for product, sizes in _day_plan(day, rng).items():
            writes += _write_day(store, clock, rng, product, start_us + day * DAY_US, sizes)
    return CapacityScenario(policy, start_us, start_us + HISTORY_DAYS * DAY_US, writes)


def _day_plan(day: int, rng: random.Random) -> dict[str, list[int]]:
    """Payload sizes each product writes on ``day``."""
    growing = growing_bytes(day) - (growing_bytes(day - 1) if day else 0.0)
    growing *= max(0.0, 1.0 + rng.gauss(0.0, 0.2)) if day else 1.0
    flat = 4 * 1024 * 1024 if day == 0 else 3 * 200
    noisy = 3 * 1024 * 1024 if day == 0 else 4 * 300
    if day and rng.random() < 0.05:  # a burst: a bulk export of random size, heavy-tailed
        noisy += int(min(rng.lognormvariate(math.log(400_000), 1.2), 4_000_000))
    return {GROWING: _split(int(growing), 30), FLAT: _split(flat, 3), NOISY: _split(noisy, 4)}


def _split(total: int, at_least: int) -> list[int]:
    """``total`` bytes as writes of at most 32 KiB (and at least ``at_least`` writes)."""
    count = max(at_least, -(-total // 32_768))
    sizes = [total // count + (1 if i < total % count else 0) for i in range(count)]
    return [size for size in sizes if size > 0]


def _write_day(
    store: BucketStore, clock: SimulatedClock, rng: random.Random, product: str, day_us: int, sizes: list[int]
) -> int:
    actor, integration, artifact_class = WRITERS[product]
    # Working hours 08:00–18:00 UTC, evenly spread, so the rates look like a steady workload.
    step = 10 * HOUR_US // max(len(sizes), 1)
    times = [day_us + 8 * HOUR_US + i * step + product_offset(product) for i in range(len(sizes))]
    requests = [
        CreateRequest(
            actor_id=actor,
            integration_id=integration,
            product_id=product,
            artifact_class=artifact_class,
            payload=rng.randbytes(size),
            provenance={"source": "capacity-scenario", "intent": "capacity projection demo"},
        )
        for size in sizes
    ]
    for begin in range(0, len(requests), 500):
        batch = requests[begin : begin + 500]
        clock.load(times[begin : begin + len(batch)])
        for outcome in store.create_batch(batch):
            outcome.raise_if_denied()
    return len(requests)


def product_offset(product: str) -> int:
    """A few seconds apart per product, so two products never share a ledger timestamp."""
    return (1 + sorted(WRITERS).index(product)) * 7_000_000


def write_policy_dir(policy: LoadedPolicy, out_dir: Path) -> Path:
    """The scaled policy as YAML files (a copy of the base files with products.yaml rewritten)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in policy.sources:
        shutil.copyfile(source, out_dir / source.name)
    products = [p.model_dump(mode="json", exclude_defaults=True) for p in policy.policy.products]
    (out_dir / "products.yaml").write_text(yaml.safe_dump({"products": products}, sort_keys=False))
    return out_dir


def main(argv: list[str] | None = None) -> None:
    from bucket_governance.db import make_engine, upgrade_to_head
    from bucket_governance.policy import load_policy
    from bucket_governance.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of an empty database")
    parser.add_argument("--policy-dir", type=Path, required=True, help="where to write the scaled policy")
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    upgrade_to_head(engine)
    scenario = write_capacity_scenario(engine, load_policy(get_settings().policy_dir))
    write_policy_dir(scenario.policy, args.policy_dir)
    end = datetime.fromtimestamp(scenario.end_us / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")
    print(f"{scenario.writes} writes; history ends {end}; policy in {args.policy_dir}")


if __name__ == "__main__":
    main()
