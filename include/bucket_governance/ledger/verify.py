"""Verify the hash chain and name the first bad sequence number."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from bucket_governance.ledger.canonical import GENESIS_HASH, CanonicalFormError, chain_hash
from bucket_governance.ledger.chain import entry_from_row
from bucket_governance.ledger.chain_scan import iter_chain_rows, scan_chain


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # sequence_gap | chain_break | hash_mismatch | unreadable_entry
    message: str


@dataclass
class ChainReport:
    start_seq: int
    entries_checked: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return self.problems[0].seq if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "start_seq": self.start_seq,
            "entries_checked": self.entries_checked,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_bad_seq": self.first_bad_seq,
            "problems": [p.__dict__ for p in self.problems],
        }


def verify_chain(
    conn: Connection,
    *,
    after_seq: int = 0,
    after_hash: str = GENESIS_HASH,
    max_problems: int = 100,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Walk entries after ``after_seq`` (whose hash is ``after_hash``), recomputing every link.

    Continues past a problem (re-anchoring on the stored hash) so one report lists every damaged place,
    up to ``max_problems``. Rows go through the fast path (``chain_scan``); only those it cannot clear
    get the exact check below, which names and classifies the problem.
    """
    report = ChainReport(start_seq=after_seq + 1, last_seq=after_seq, last_hash=after_hash)

    def suspect(row: Any, prev_seq: int, prev_hash: str) -> None:
        for problem in _check_row(row, prev_seq, prev_hash):
            if len(report.problems) < max_problems:
                report.problems.append(problem)

    for rows in iter_chain_rows(conn, after_seq=after_seq):
        report.last_seq, report.last_hash = scan_chain(rows, report.last_seq, report.last_hash, suspect)
        before, report.entries_checked = report.entries_checked, report.entries_checked + len(rows)
        if progress is not None and report.entries_checked // 10_000 > before // 10_000:
            progress(report.entries_checked)
    return report


def _check_row(row: Any, prev_seq: int, prev_hash: str) -> list[ChainProblem]:
    problems = []
    if row.seq != prev_seq + 1:
        problems.append(ChainProblem(row.seq, "sequence_gap", f"entries {prev_seq + 1}..{row.seq - 1} are missing"))
    if row.prev_hash != prev_hash:
        problems.append(
            ChainProblem(row.seq, "chain_break", f"prev_hash {row.prev_hash[:16]}… does not match entry {prev_seq}")
        )
    try:
        recomputed = chain_hash(row.prev_hash, entry_from_row(row).canonical_bytes())
    except (CanonicalFormError, ValueError, json.JSONDecodeError) as exc:
        return [*problems, ChainProblem(row.seq, "unreadable_entry", f"entry cannot be re-encoded: {exc}")]
    if recomputed != row.entry_hash:
        problems.append(
            ChainProblem(row.seq, "hash_mismatch", "stored fields do not hash to the stored entry_hash (entry altered)")
        )
    return problems
