"""Group commit: the governed writes and reads of one API process, many per ledger transaction.

Every governed request appends a ledger entry under the one ledger lock, so requests run one transaction
at a time whatever the number of worker threads. Here the worker threads hand their request to one
committer thread and wait; the committer takes everything pending (up to the policy's batch size) and
decides and records it in ONE locked transaction per kind — writes through
``BucketStore.create_independent`` (each item decided on its own, as if sent one after another), reads
through ``BucketStore.read_batch`` — then hands each thread its own outcome.

Every waiting request is answered: if a group's transaction fails, each of its requests is retried on its
own, so it gets the outcome or the error it would have had without grouping. After ``close()`` (the app's
shutdown) requests run directly through the store.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, cast

from bucket_governance.bucket.create_rows import PreparedCreate, prepare_create
from bucket_governance.bucket.requests import AccessRequest, ArtifactVersion, CreateRequest, Outcome
from bucket_governance.bucket.store import BucketStore

ReadResult = tuple[Outcome, ArtifactVersion | None]


@dataclass(frozen=True)
class _Job:
    item: PreparedCreate | AccessRequest
    future: Future[Any] = field(default_factory=Future)


class GroupCommitter:
    def __init__(self, store: BucketStore) -> None:
        self._store = store
        self._max_items = max(1, int(store.policy.limits.batch_size.max))
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders submit() against close(): no job is queued after the stop mark
        self._thread: threading.Thread | None = None
        self._closed = False

    def create(self, request: CreateRequest) -> Outcome:
        prepared = prepare_create(request)  # invalid input fails here, in the caller's thread, as it did alone
        outcome: Outcome = self._submit(_Job(prepared))
        return outcome

    def read(self, request: AccessRequest) -> ReadResult:
        result: ReadResult = self._submit(_Job(request))
        return result

    def close(self) -> None:
        """Stop the committer thread once the requests already queued are answered."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _submit(self, job: _Job) -> Any:
        with self._lock:
            closed = self._closed
            if not closed and self._thread is None:
                # daemon: an app whose lifespan never runs (a test client outside ``with``) must not hold
                # the interpreter open; the lifespan's close() is what stops it in a served app
                self._thread = threading.Thread(target=self._run, name="bucket-group-commit", daemon=True)
                self._thread.start()
            if not closed:
                self._queue.put(job)
        if closed:
            _run_alone(self._store, job)
        return job.future.result()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            jobs, stopping = self._drain([first] if first is not None else [], stopping=first is None)
            try:
                _commit(self._store, jobs)
            except BaseException as error:  # a bug here must answer, not hang, the requests
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)

    def _drain(self, jobs: list[_Job], *, stopping: bool) -> tuple[list[_Job], bool]:
        while not stopping and len(jobs) < self._max_items:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stopping = True
            else:
                jobs.append(job)
        return jobs, stopping


def _commit(store: BucketStore, jobs: list[_Job]) -> None:
    creates = [j for j in jobs if isinstance(j.item, PreparedCreate)]
    reads = [j for j in jobs if isinstance(j.item, AccessRequest)]
    for group, run in ((creates, _create_group), (reads, _read_group)):
        if not group:
            continue
        try:
            results = run(store, group)
        except Exception:  # the group failed as a whole: each request retried alone
            for job in group:
                _run_alone(store, job)
        else:
            for job, result in zip(group, results, strict=True):
                job.future.set_result(result)


def _create_group(store: BucketStore, jobs: list[_Job]) -> list[Any]:
    return list(store.create_independent([cast("PreparedCreate", j.item) for j in jobs]))


def _read_group(store: BucketStore, jobs: list[_Job]) -> list[Any]:
    return list(store.read_batch([cast("AccessRequest", j.item) for j in jobs]))


def _run_alone(store: BucketStore, job: _Job) -> None:
    """One request in a transaction of its own: its result, or its own error, goes to its future."""
    run: Callable[[BucketStore, list[_Job]], list[Any]] = (
        _create_group if isinstance(job.item, PreparedCreate) else _read_group
    )
    try:
        (result,) = run(store, [job])
    except BaseException as error:  # handed to the waiting request, which raises it
        job.future.set_exception(error)
    else:
        job.future.set_result(result)
