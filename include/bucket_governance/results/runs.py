"""Idempotent governance run records: one row per (pipeline, window), however often the window is re-run.

A pipeline run is keyed by its window (the Airflow run's data interval), not by the Airflow run id: a retry,
a manual re-run or a backfill of the same window lands on the same row, which counts its ``attempts``.
Plain ``UPDATE`` then ``INSERT`` (no dialect-specific upsert) keeps one code path for SQLite and PostgreSQL;
a concurrent first start of the same window loses the insert race and retries as a restart.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bucket_governance.db.tables import governance_runs
from bucket_governance.errors import InvalidInputError, NotFoundError

RunStatus = Literal["running", "clean", "findings", "failed"]
FinalStatus = Literal["clean", "findings", "failed"]
FINAL_STATUSES: frozenset[str] = frozenset(get_args(FinalStatus))


@dataclass(frozen=True)
class RunRecord:
    """One governance run row, with its summary decoded."""

    run_id: str
    pipeline: str
    window_start_us: int
    window_end_us: int
    status: str
    started_at_us: int
    finished_at_us: int | None
    summary: dict[str, Any]
    attempts: int


def _now_us() -> int:
    return time.time_ns() // 1000


def run_id_for(pipeline: str, window_start_us: int, window_end_us: int) -> str:
    """The run id of a window: derived, so every attempt at the same window finds the same row."""
    digest = hashlib.sha256(f"{pipeline}\x00{window_start_us}\x00{window_end_us}".encode()).hexdigest()
    return digest[:32]


def start_run(engine: Engine, pipeline: str, window_start_us: int, window_end_us: int) -> str:
    """Open (or re-open) the run of ``pipeline`` over the window; returns its run id."""
    if window_end_us < window_start_us:
        raise InvalidInputError(
            "window_invalid", f"window ends ({window_end_us}) before it starts ({window_start_us}): swap the bounds"
        )
    run_id = run_id_for(pipeline, window_start_us, window_end_us)
    try:
        _start_once(engine, run_id, pipeline, window_start_us, window_end_us)
    except IntegrityError:
        # Another worker inserted the same window between our UPDATE and INSERT: now it exists, restart it.
        _start_once(engine, run_id, pipeline, window_start_us, window_end_us)
    return run_id


def _start_once(engine: Engine, run_id: str, pipeline: str, window_start_us: int, window_end_us: int) -> None:
    now = _now_us()
    with engine.begin() as conn:
        if _restart(conn, run_id, now):
            return
        conn.execute(
            insert(governance_runs).values(
                run_id=run_id,
                pipeline=pipeline,
                window_start_us=window_start_us,
                window_end_us=window_end_us,
                status="running",
                started_at_us=now,
                finished_at_us=None,
                summary="{}",
                attempts=1,
            )
        )


def _restart(conn: Connection, run_id: str, now: int) -> bool:
    """Reset an existing row to a fresh attempt; False when the window has never run."""
    result = conn.execute(
        update(governance_runs)
        .where(governance_runs.c.run_id == run_id)
        .values(
            status="running",
            started_at_us=now,
            finished_at_us=None,
            summary="{}",  # the previous attempt's result no longer describes this attempt
            attempts=governance_runs.c.attempts + 1,
        )
    )
    return result.rowcount > 0


def finish_run(engine: Engine, run_id: str, status: FinalStatus, summary: dict[str, Any]) -> None:
    """Close a run with its outcome and a small JSON summary (counts and pointers, never raw data)."""
    if status not in FINAL_STATUSES:
        raise InvalidInputError(
            "run_status_invalid", f"{status!r} is not a final run status: use one of {sorted(FINAL_STATUSES)}"
        )
    summary_json = json.dumps(summary, sort_keys=True, separators=(",", ":"))
    with engine.begin() as conn:
        result = conn.execute(
            update(governance_runs)
            .where(governance_runs.c.run_id == run_id)
            .values(status=status, finished_at_us=_now_us(), summary=summary_json)
        )
    if result.rowcount == 0:
        raise NotFoundError("run_not_found", f"no governance run {run_id!r}: start it with start_run() first")


def get_run(engine: Engine, run_id: str) -> RunRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(governance_runs).where(governance_runs.c.run_id == run_id)).first()
    return None if row is None else _record(row)


def latest_run(engine: Engine, pipeline: str, status: RunStatus | None = None) -> RunRecord | None:
    """The run of ``pipeline`` over the most recent window (optionally only runs with ``status``).

    Ordered by window, not by start time, so re-running an old window (a backfill) does not make it "latest".
    """
    query = select(governance_runs).where(governance_runs.c.pipeline == pipeline)
    if status is not None:
        query = query.where(governance_runs.c.status == status)
    query = query.order_by(
        governance_runs.c.window_end_us.desc(),
        governance_runs.c.window_start_us.desc(),
        governance_runs.c.started_at_us.desc(),
    ).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else _record(row)


def _record(row: Any) -> RunRecord:
    return RunRecord(
        run_id=row.run_id,
        pipeline=row.pipeline,
        window_start_us=int(row.window_start_us),
        window_end_us=int(row.window_end_us),
        status=row.status,
        started_at_us=int(row.started_at_us),
        finished_at_us=None if row.finished_at_us is None else int(row.finished_at_us),
        summary=json.loads(row.summary),
        attempts=int(row.attempts),
    )
