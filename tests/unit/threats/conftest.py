"""Fixtures for rule tests: a real migrated SQLite Bucket whose clock the test controls, and a scan helper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.checks.threats.scan import ScanResult, scan_window
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.policy import LoadedPolicy, Operation

T0 = 1_800_000_000_000_000  # a fixed instant (2027-01-15T08:00:00Z) in microseconds
MINUTE = 60_000_000


@dataclass
class Clock:
    now_us: int = T0

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: float) -> None:
        self.now_us += int(seconds * 1_000_000)


@dataclass
class RuleBench:
    """A Bucket under test: write through the governed store at controlled times, then scan a window."""

    engine: Engine
    store: BucketStore
    clock: Clock
    policy: LoadedPolicy

    def lesson(self, artifact_id: str = "lesson-1", **changes: object) -> CreateRequest:
        base: dict[str, object] = {
            "actor_id": "gurukul.engineer",
            "integration_id": "gurukul.gateway",
            "product_id": "gurukul",
            "artifact_class": "ContentArtifact",
            "artifact_id": artifact_id,
            "payload": b'{"title": "fractions"}',
            "metadata": {"title": "fractions"},
            "provenance": {"source": "editor", "intent": "new lesson"},
        }
        return CreateRequest(**{**base, **changes})  # type: ignore[arg-type]

    def ask(
        self,
        operation: Operation,
        actor: str,
        product: str,
        artifact_id: str | None = None,
        integration: str | None = None,
    ) -> None:
        self.store.submit(AccessRequest(operation, actor, integration or f"{product}.gateway", product, artifact_id))

    def scan(self, *rule_ids: str, start_us: int = T0 - MINUTE, end_us: int | None = None) -> ScanResult:
        end = end_us if end_us is not None else self.clock.now_us + MINUTE
        return scan_window(
            self.engine, self.policy, window_start_us=start_us, window_end_us=end, rule_ids=rule_ids, now_us=end
        )


@pytest.fixture
def bench(tmp_path: Path, policy: LoadedPolicy) -> Iterator[RuleBench]:
    engine = make_engine(f"sqlite:///{tmp_path / 'rules.db'}")
    upgrade_to_head(engine)
    clock = Clock()
    yield RuleBench(engine, BucketStore(engine, policy, clock=clock), clock, policy)
    engine.dispose()


def subjects(result: ScanResult, rule_id: str) -> list[str]:
    return sorted(h.subject for o in result.outcomes if o.rule_id == rule_id for h in o.hits)
