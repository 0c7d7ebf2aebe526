"""Many writers at once: nothing lost, nothing forked, versions dense — the ledger serializes appends.

Each writer thread runs the same deterministic plan of rounds. A round starts with a *contested* write:
every thread reads the head of one shared artifact, waits until all have read (a barrier), then writes the
next version with that ``expected_version`` — exactly one must win and every other one must be recorded as
a denied ``version_conflict``. The rest of the round runs free: a new artifact, a new version of a shared
artifact (head read just before, so conflicts may or may not happen), and a batch of new artifacts that
sometimes carries a new version of a shared artifact (a conflict there rejects the whole batch).

Afterwards the database must account for every request exactly once. The assertions are invariants that
hold for any interleaving, plus the exact counts the barrier makes deterministic; no timing is asserted.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.bucket.requests import CreateRequest, Outcome
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import artifact_versions, ledger_entries, product_usage
from bucket_governance.ledger.verify import verify_chain
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration

PRODUCTS = {  # product -> (actor, integration, class)
    "gurukul": ("gurukul.engineer", "gurukul.gateway", "ContentArtifact"),
    "ai_assistant": ("ai_assistant.engineer", "ai_assistant.gateway", "ConversationArtifact"),
}
SHARED_PER_PRODUCT = 2
WAIT_SECONDS = 120  # only a hang would take this long


@dataclass(frozen=True)
class Scenario:
    dialect: str
    writers: int
    rounds: int
    batch_size: int

    @property
    def requests_per_writer(self) -> int:
        # contested + single new + shared version + batch (new artifacts and one shared version)
        return self.rounds * (3 + self.batch_size)


@dataclass(frozen=True)
class Submitted:
    """One request and what the store answered; ``contested_round`` marks the barrier writes."""

    request: CreateRequest
    outcome: Outcome
    contested_round: int | None = None


@pytest.fixture(
    params=[
        pytest.param(Scenario("sqlite", writers=8, rounds=5, batch_size=6), id="sqlite-8-writers"),
        pytest.param(
            Scenario("postgresql", writers=32, rounds=4, batch_size=6),
            id="postgresql-32-writers",
            marks=pytest.mark.postgres,
        ),
    ]
)
def scenario(request: pytest.FixtureRequest) -> Scenario:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def writer_engine(scenario: Scenario, request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = str(request.getfixturevalue("pg_url" if scenario.dialect == "postgresql" else "sqlite_url"))
    engine = make_engine(url, pool_size=scenario.writers + 2, max_overflow=4)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def _request(
    product: str, payload: bytes, artifact_id: str | None = None, expected: int | None = None
) -> CreateRequest:
    actor, integration, artifact_class = PRODUCTS[product]
    return CreateRequest(
        actor_id=actor,
        integration_id=integration,
        product_id=product,
        artifact_class=artifact_class,
        payload=payload,
        metadata={"writer": payload.decode()},
        artifact_id=artifact_id,
        expected_version=expected,
    )


class Writer:
    """One thread's deterministic plan (seeded by its index) against the shared store."""

    def __init__(
        self, index: int, engine: Engine, policy: LoadedPolicy, shared: dict[str, str], barrier: threading.Barrier
    ) -> None:
        self.index = index
        self.engine = engine
        self.store = BucketStore(engine, policy)
        self.shared = shared  # artifact_id -> product
        self.barrier = barrier
        self.random = random.Random(index)
        self.product = list(PRODUCTS)[index % len(PRODUCTS)]
        self.log: list[Submitted] = []
        self._n = 0

    def run(self, scenario: Scenario) -> list[Submitted]:
        for round_no in range(scenario.rounds):
            self._contested(round_no)
            self._single(_request(self.product, self._payload()))
            self._single(self._next_version(self._pick_shared()))
            self._batch(scenario.batch_size, round_no)
        return self.log

    def _payload(self) -> bytes:
        self._n += 1
        return f"w{self.index}-{self._n}".encode()

    def _pick_shared(self) -> str:
        return self.random.choice(sorted(self.shared))

    def _head(self, artifact_id: str) -> int:
        query = select(func.max(artifact_versions.c.version)).where(artifact_versions.c.artifact_id == artifact_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _next_version(self, artifact_id: str) -> CreateRequest:
        head = self._head(artifact_id)
        return _request(self.shared[artifact_id], self._payload(), artifact_id, head)

    def _contested(self, round_no: int) -> None:
        artifact_id = sorted(self.shared)[round_no % len(self.shared)]
        self.barrier.wait()
        head = self._head(artifact_id)
        self.barrier.wait()  # everybody has read the same head before anybody writes
        request = _request(self.shared[artifact_id], self._payload(), artifact_id, head)
        self.log.append(Submitted(request, self.store.create(request), contested_round=round_no))

    def _single(self, request: CreateRequest) -> None:
        self.log.append(Submitted(request, self.store.create(request)))

    def _batch(self, size: int, round_no: int) -> None:
        """New artifacts; every third batch also carries a new version of a shared artifact."""
        requests = [_request(self.product, self._payload()) for _ in range(size - 1)]
        if (self.index + round_no) % 3 == 0:
            extra = self._next_version(self._pick_shared_of(self.product))
        else:
            extra = _request(self.product, self._payload())
        requests.insert(self.random.randrange(size), extra)
        outcomes = self.store.create_batch(requests)
        self.log += [Submitted(r, o) for r, o in zip(requests, outcomes, strict=True)]

    def _pick_shared_of(self, product: str) -> str:
        return self.random.choice(sorted(a for a, p in self.shared.items() if p == product))


def _seed_shared(store: BucketStore) -> tuple[dict[str, str], list[Submitted]]:
    shared: dict[str, str] = {}
    log: list[Submitted] = []
    for product in PRODUCTS:
        for i in range(SHARED_PER_PRODUCT):
            request = _request(product, f"shared-{product}-{i}".encode())
            outcome = store.create(request).raise_if_denied()
            shared[str(outcome.artifact_id)] = product
            log.append(Submitted(request, outcome))
    return shared, log


def _run_writers(engine: Engine, policy: LoadedPolicy, scenario: Scenario) -> tuple[dict[str, str], list[Submitted]]:
    shared, log = _seed_shared(BucketStore(engine, policy))
    barrier = threading.Barrier(scenario.writers, timeout=WAIT_SECONDS)
    writers = [Writer(i, engine, policy, shared, barrier) for i in range(scenario.writers)]
    with ThreadPoolExecutor(max_workers=scenario.writers) as pool:
        futures = [pool.submit(w.run, scenario) for w in writers]
        for future in futures:
            log += future.result(timeout=WAIT_SECONDS)
    return shared, log


# -- the accounting -----------------------------------------------------------------------------------------


def _assert_ledger_accounts_for_every_request(engine: Engine, log: list[Submitted]) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq)).all()
        report = verify_chain(conn)
    by_seq = {r.seq: r for r in rows}
    assert len(rows) == len(log), "ledger count must equal the number of requests"
    assert [r.seq for r in rows] == list(range(1, len(log) + 1)), "sequence must be dense 1..N"
    assert len({r.prev_hash for r in rows}) == len(rows), "two entries share a parent: the chain forked"
    assert report.ok, report.problems[:5]
    assert report.entries_checked == len(log)
    assert len({s.outcome.seq for s in log}) == len(log), "two requests were given the same seq"
    for s in log:
        row = by_seq[s.outcome.seq]
        assert row.entry_hash == s.outcome.entry_hash, f"seq {s.outcome.seq}: entry lost or replaced"
        assert row.decision == ("ALLOW" if s.outcome.allowed else "DENY")
        assert row.artifact_id == s.outcome.artifact_id


def _assert_versions_dense_and_each_backed_by_its_entry(engine: Engine, log: list[Submitted]) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            select(artifact_versions.c.artifact_id, artifact_versions.c.version, artifact_versions.c.ledger_seq)
        ).all()
    stored = {(r.artifact_id, r.version, r.ledger_seq) for r in rows}
    allowed = {(s.outcome.artifact_id, s.outcome.version, s.outcome.seq) for s in log if s.outcome.allowed}
    assert len(stored) == len(rows)
    assert stored == allowed, "every allowed request stored exactly one version, and nothing else was stored"
    versions: dict[str, list[int]] = defaultdict(list)
    for artifact_id, version, _ in stored:
        versions[artifact_id].append(version)
    for artifact_id, numbers in versions.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"{artifact_id}: versions {sorted(numbers)}"


def _assert_denials_are_conflicts(log: list[Submitted], scenario: Scenario) -> None:
    codes = Counter(r.code for s in log if not s.outcome.allowed for r in s.outcome.decision.reasons)
    assert set(codes) <= {"version_conflict", "batch_rejected"}, codes
    contested = [s for s in log if s.contested_round is not None]
    winners = Counter(s.contested_round for s in contested if s.outcome.allowed)
    assert winners == dict.fromkeys(range(scenario.rounds), 1), "exactly one writer wins each contested round"
    losers = [s for s in contested if not s.outcome.allowed]
    assert len(losers) == scenario.rounds * (scenario.writers - 1)
    assert all(s.outcome.decision.code == "version_conflict" for s in losers)
    assert all(s.outcome.decision.status == 409 for s in losers)


def _assert_usage_matches_the_versions(engine: Engine) -> None:
    av = artifact_versions
    with engine.connect() as conn:
        usage = {r.product_id: (r.bytes_stored, r.artifact_versions) for r in conn.execute(select(product_usage))}
        actual = {
            r.product_id: (r.bytes, r.n)
            for r in conn.execute(
                select(av.c.product_id, func.sum(av.c.size_bytes).label("bytes"), func.count().label("n")).group_by(
                    av.c.product_id
                )
            )
        }
    assert usage == actual, "a concurrent usage update was lost"


def test_concurrent_writers_lose_nothing_and_never_fork(
    writer_engine: Engine, policy: LoadedPolicy, scenario: Scenario
) -> None:
    shared, log = _run_writers(writer_engine, policy, scenario)

    assert len(log) == len(shared) + scenario.writers * scenario.requests_per_writer
    _assert_ledger_accounts_for_every_request(writer_engine, log)
    _assert_versions_dense_and_each_backed_by_its_entry(writer_engine, log)
    _assert_denials_are_conflicts(log, scenario)
    _assert_usage_matches_the_versions(writer_engine)
