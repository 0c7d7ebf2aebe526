"""Send planned requests to the governed store in as few transactions as the ledger order allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bucket_governance.bucket.requests import AccessRequest, CreateRequest, Outcome
from bucket_governance.bucket.store import BucketStore
from bucket_governance.demo.profile_base import request_size
from bucket_governance.demo.timeline import SimulatedClock
from bucket_governance.errors import InvalidInputError

Progress = Callable[[int, int], None]


@dataclass
class SentCounts:
    versions: int = 0
    reads: int = 0
    bytes: int = 0


@dataclass
class Batcher:
    """Sends planned requests in as few transactions as ledger order allows.

    Writes and reads go through different store calls, so a change of kind ends a batch; so does the policy's
    batch limit. Times are loaded into the simulated clock right before each call.
    """

    store: BucketStore
    clock: SimulatedClock
    batch_size: int
    progress: Progress | None
    total: int
    done: int = 0
    counts: dict[str, SentCounts] = field(default_factory=dict)
    _writes: list[tuple[int, str, CreateRequest]] = field(default_factory=list)
    _reads: list[tuple[int, str, AccessRequest]] = field(default_factory=list)

    def add_write(self, at_us: int, product_id: str, request: CreateRequest) -> None:
        self._flush_reads()
        self._writes.append((at_us, product_id, request))
        if len(self._writes) >= self.batch_size:
            self._flush_writes()

    def add_read(self, at_us: int, product_id: str, request: AccessRequest) -> None:
        self._flush_writes()
        self._reads.append((at_us, product_id, request))
        if len(self._reads) >= self.batch_size:
            self._flush_reads()

    def skip(self) -> None:
        self.done += 1

    def flush(self) -> None:
        self._flush_writes()
        self._flush_reads()

    def _flush_writes(self) -> None:
        if not self._writes:
            return
        self.clock.load([at_us for at_us, _, _ in self._writes])
        _require_allowed(self.store.create_batch([r for _, _, r in self._writes]))
        for _, product_id, request in self._writes:
            counter = self.counts.setdefault(product_id, SentCounts())
            counter.versions += 1
            counter.bytes += request_size(request)
        self._finished(len(self._writes))
        self._writes = []

    def _flush_reads(self) -> None:
        if not self._reads:
            return
        self.clock.load([at_us for at_us, _, _ in self._reads])
        _require_allowed(self.store.submit_batch([r for _, _, r in self._reads]))
        for _, product_id, _ in self._reads:
            self.counts.setdefault(product_id, SentCounts()).reads += 1
        self._finished(len(self._reads))
        self._reads = []

    def _finished(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)


def _require_allowed(outcomes: list[Outcome]) -> None:
    """The clean history must be clean: a denial means the policy in force is not the demo policy."""
    for outcome in outcomes:
        if not outcome.allowed:
            raise InvalidInputError(
                "demo_request_denied",
                f"the policy in force denied the demo's clean traffic at ledger seq {outcome.seq} "
                f"({outcome.decision.code}: {outcome.decision.message}); run the demo with the demo policy",
            )
