"""Audit integrity check (SPEC §3): verify the ledger incrementally, cross-check artifacts ↔ ledger, re-hash
payloads, then sign a new Merkle checkpoint proven consistent with the previous one.

One run per window (the Airflow data interval): a re-run of the same window updates the same run row,
replaces its problem rows and lands on the same findings (fingerprint = rule + subject + ``integrity``).
Tampering is a *result* (status ``findings``, T8/T5 findings with evidence), never an exception; nothing
is signed over a ledger with problems, and the verified point only moves forward over clean stretches.
Database errors propagate after marking the run ``failed``, so retries cover outages.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bucket_governance.checks.integrity_records import Problem, record_problems, save_cursor
from bucket_governance.checks.integrity_scope import IntegrityOptions, Verification, verify
from bucket_governance.ledger.checkpoint import load_signing_key
from bucket_governance.ledger.checkpoint_store import DEFAULT_ORIGIN, CheckpointRefusedError, create_checkpoint
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.runs import finish_run, start_run

log = logging.getLogger(__name__)

PIPELINE = "audit_integrity"
SUMMARY_PROBLEMS = 5  # the run row and the task's XCom stay small; all problems are in integrity_problems

__all__ = ["PIPELINE", "IntegrityOptions", "IntegrityResult", "Signer", "load_signer", "run_integrity_check"]


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    key_name: str
    origin: str = DEFAULT_ORIGIN


def load_signer(path: Path, key_name: str, origin: str = DEFAULT_ORIGIN) -> Signer | None:
    """The checkpoint signer from a key file, or None when there is no key yet (`bucket-gov init` makes one)."""
    if not Path(path).exists():
        log.warning("no checkpoint signing key at %s; runs verify but sign nothing", path)
        return None
    return Signer(load_signing_key(path), key_name, origin)


@dataclass(frozen=True)
class IntegrityResult:
    run_id: str
    entries_checked: int
    last_seq: int
    problems: tuple[Problem, ...]
    checkpoint: dict[str, Any]
    rechecked: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        return "clean" if self.ok else "findings"

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def problems_by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.problems:
            counts[p.rule_id] = counts.get(p.rule_id, 0) + 1
        return counts

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
            "problems_by_rule": self.problems_by_rule(),
            "problems": [p.as_dict() for p in self.problems[:SUMMARY_PROBLEMS]],
            "rechecked": self.rechecked,
            "checkpoint": self.checkpoint,
            "findings": self.findings,
        }


def run_integrity_check(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    window_start_us: int,
    window_end_us: int,
    signer: Signer | None = None,
    options: IntegrityOptions | None = None,
    now_us: int | None = None,
) -> IntegrityResult:
    """Run the whole audit-integrity check for one window and record it (see the module docstring)."""
    options = options or IntegrityOptions()
    skew_us = policy.policy.limits.tolerances.ledger_clock_skew_seconds * 1_000_000
    run_id = start_run(engine, PIPELINE, window_start_us, window_end_us)
    try:
        result = _run(engine, run_id, skew_us, options, signer, window_start_us, window_end_us, now_us)
    except Exception as exc:
        _mark_failed(engine, run_id, exc)
        raise
    finish_run(engine, run_id, "clean" if result.ok else "findings", result.summary())
    log.info(
        "audit integrity run %s: %s, %s entries checked up to seq %s, problems %s, checkpoint %s",
        run_id,
        result.status,
        result.entries_checked,
        result.last_seq,
        result.problems_by_rule(),
        result.checkpoint,
    )
    return result


def _run(
    engine: Engine,
    run_id: str,
    skew_us: int,
    options: IntegrityOptions,
    signer: Signer | None,
    window_start_us: int,
    window_end_us: int,
    now_us: int | None,
) -> IntegrityResult:
    now = now_us if now_us is not None else time.time_ns() // 1000
    with engine.connect() as conn:
        checked = verify(conn, skew_us=skew_us, options=options, window_start_us=window_start_us)
    problems = checked.log.unique()
    with engine.begin() as conn:
        upserts = record_problems(conn, run_id, problems, now_us=now, fallback_seen_us=window_end_us)
        _advance_cursors(conn, checked, clean=not problems, now_us=now)
    checkpoint = _sign(engine, signer, checked, options, problems, now)
    return IntegrityResult(
        run_id=run_id,
        entries_checked=checked.walk.entries_checked,
        last_seq=checked.walk.last_seq,
        problems=tuple(problems),
        checkpoint=checkpoint,
        rechecked=checked.rechecked,
        findings=upserts.as_dict(),
    )


def _advance_cursors(conn: Any, checked: Verification, *, clean: bool, now_us: int) -> None:
    from bucket_governance.checks.integrity_records import Cursor

    for cursor in checked.cursors:
        save_cursor(conn, cursor, now_us)
    if clean:  # a damaged stretch is walked again next time, so its findings keep being confirmed
        save_cursor(conn, Cursor("ledger", checked.walk.last_seq, checked.walk.last_hash), now_us)


def _sign(
    engine: Engine,
    signer: Signer | None,
    checked: Verification,
    options: IntegrityOptions,
    problems: list[Problem],
    now_us: int,
) -> dict[str, Any]:
    """Sign the verified tree; never over a ledger with problems (that would vouch for the tampering)."""
    if not options.checkpoint:
        return {"signed": False, "reason": "checkpoints disabled for this run"}
    if signer is None:
        return {"signed": False, "reason": "no signing key configured"}
    if problems:
        return {"signed": False, "reason": "the ledger has integrity problems; nothing is signed until resolved"}
    try:
        stored = create_checkpoint(
            engine,
            signer.private_key,
            signer.key_name,
            origin=signer.origin,
            up_to_seq=checked.walk.last_seq,
            now_us=now_us,
        )
    except CheckpointRefusedError as exc:
        return {"signed": False, "reason": exc.message}
    return {
        "signed": True,
        "checkpoint_id": stored.checkpoint_id,
        "tree_size": stored.tree_size,
        "root_hash": stored.root_hash,
        "previous_size": stored.previous_size,
        "consistent_with_previous": True,  # create_checkpoint refuses to store an unproven extension
    }


def _mark_failed(engine: Engine, run_id: str, exc: Exception) -> None:
    """Best effort: when the database itself is down, recording the failure fails too — keep the first error."""
    try:
        finish_run(engine, run_id, "failed", {"pipeline": PIPELINE, "run_id": run_id, "error": type(exc).__name__})
    except SQLAlchemyError:
        log.warning("could not mark audit integrity run %s as failed", run_id, exc_info=True)
