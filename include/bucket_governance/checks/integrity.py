"""Audit integrity check: verify the ledger's hash chain and record the outcome as a governance run.

For now the walk covers the whole chain on every run; the window only identifies the run (so a re-run of
the same window updates the same run row). Making it incremental — start from the last signed Merkle
checkpoint instead of genesis — changes what is walked, not this function's contract.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bucket_governance.ledger.verify import ChainProblem, ChainReport, verify_chain
from bucket_governance.results.runs import finish_run, start_run

log = logging.getLogger(__name__)

PIPELINE = "audit_integrity"
# The run summary and the task's return value stay small: the first few problems name where to look;
# the count says how many more a full `bucket-gov verify-ledger` would list.
SUMMARY_PROBLEMS = 5


@dataclass(frozen=True)
class IntegrityResult:
    """The outcome of one integrity run; ``ok`` is False when the chain is broken anywhere."""

    ok: bool
    entries_checked: int
    last_seq: int
    first_bad_seq: int | None
    problems: tuple[ChainProblem, ...]
    run_id: str

    @property
    def status(self) -> str:
        return "clean" if self.ok else "findings"

    def summary(self) -> dict[str, Any]:
        """A small JSON-able dict: what the run row stores and what the Airflow task returns (XCom)."""
        return {
            "pipeline": PIPELINE,
            "run_id": self.run_id,
            "status": self.status,
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "last_seq": self.last_seq,
            "first_bad_seq": self.first_bad_seq,
            "problem_count": len(self.problems),
            "problems": [
                {"seq": p.seq, "kind": p.kind, "message": p.message} for p in self.problems[:SUMMARY_PROBLEMS]
            ],
        }


def run_chain_check(engine: Engine, *, window_start_us: int, window_end_us: int) -> IntegrityResult:
    """Verify the whole hash chain and record a run (status ``clean`` or ``findings``) for the window.

    A broken chain is a result, not an exception. Database errors propagate (after marking the run
    ``failed``) so the caller — an Airflow retry, the CLI — can tell an outage from a finding.
    """
    run_id = start_run(engine, PIPELINE, window_start_us, window_end_us)
    try:
        with engine.connect() as conn:
            report = verify_chain(conn)
    except Exception as exc:
        _mark_failed(engine, run_id, exc)
        raise
    result = _result(report, run_id)
    finish_run(engine, run_id, "clean" if result.ok else "findings", result.summary())
    log.info(
        "audit integrity run %s: %s, %s entries checked, first bad seq %s",
        run_id,
        result.status,
        result.entries_checked,
        result.first_bad_seq,
    )
    return result


def _result(report: ChainReport, run_id: str) -> IntegrityResult:
    return IntegrityResult(
        ok=report.ok,
        entries_checked=report.entries_checked,
        last_seq=report.last_seq,
        first_bad_seq=report.first_bad_seq,
        problems=tuple(report.problems),
        run_id=run_id,
    )


def _mark_failed(engine: Engine, run_id: str, exc: Exception) -> None:
    """Best effort: when the database itself is down, recording the failure fails too — keep the first error."""
    try:
        finish_run(engine, run_id, "failed", {"pipeline": PIPELINE, "run_id": run_id, "error": type(exc).__name__})
    except SQLAlchemyError:
        log.warning("could not mark audit integrity run %s as failed", run_id, exc_info=True)
