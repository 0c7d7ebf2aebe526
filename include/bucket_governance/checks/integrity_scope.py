"""Which part of the Bucket one audit-integrity run re-checks: incremental from the last verified point,
plus rotating slices of everything older, sized so the slices cover everything within a period."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from bucket_governance.checks.integrity_artifacts import check_creates, check_payloads, check_versions
from bucket_governance.checks.integrity_ledger import Walk, anchor_of, walk
from bucket_governance.checks.integrity_records import (
    LOG_DELETION,
    SELECTIVE_OMISSION,
    Cursor,
    Problem,
    ProblemLog,
    load_cursor,
)
from bucket_governance.db.tables import artifact_versions, payloads
from bucket_governance.ledger.canonical import GENESIS_HASH
from bucket_governance.ledger.chain import ledger_head
from bucket_governance.ledger.checkpoint_store import latest_checkpoint

A = artifact_versions


@dataclass(frozen=True)
class IntegrityOptions:
    """``full`` re-checks everything; otherwise each run checks what is new plus 1/``rehash_period_runs``
    of everything older, so the whole Bucket is re-verified at least every ``rehash_period_runs + 1`` runs."""

    full: bool = False
    rehash_period_runs: int = 24
    checkpoint: bool = True


@dataclass
class Verification:
    log: ProblemLog
    walk: Walk
    head_seq: int
    start_seq: int
    cursors: list[Cursor] = field(default_factory=list)
    rechecked: dict[str, int] = field(default_factory=dict)


def verify(conn: Connection, *, skew_us: int, options: IntegrityOptions, window_start_us: int) -> Verification:
    log = ProblemLog()
    head_seq, _ = ledger_head(conn)
    progress = load_cursor(conn, "ledger")
    _check_not_shrunk(conn, log, head_seq, progress)
    start = _start(conn, log, progress, options)
    result = walk(conn, after=start, skew_us=skew_us)
    log.extend(result.problems)
    v = Verification(log, result, head_seq, start[0])
    log.extend(check_creates(conn, result.creates))
    if options.full:
        log.extend(check_versions(conn)[0])
        log.extend(check_payloads(conn, None, None)[0])
        v.rechecked = {"entries": result.entries_checked, "artifact_versions": -1, "payloads": -1}
        return v
    _recheck_old_entries(conn, v, skew_us, options)
    _recheck_versions(conn, v, options, window_start_us)
    _recheck_payloads(conn, v, options)
    return v


def _check_not_shrunk(conn: Connection, log: ProblemLog, head_seq: int, progress: Cursor) -> None:
    """The ledger may only grow: below the last verified entry or the last signed tree is deletion."""
    checkpoint = latest_checkpoint(conn)
    signed = checkpoint.tree_size if checkpoint else 0
    expected = max(progress.position, signed)
    if head_seq < expected:
        evidence: dict[str, Any] = {
            "missing_seqs": [head_seq + 1, expected],
            "ledger_head_seq": head_seq,
            "last_verified_seq": progress.position,
            "last_checkpoint_size": signed,
            "last_checkpoint_id": checkpoint.checkpoint_id if checkpoint else None,
        }
        log.add(Problem(LOG_DELETION, "tree_shrank", f"seq:{head_seq + 1}", evidence, seq=head_seq + 1))


def _start(
    conn: Connection, log: ProblemLog, progress: Cursor, options: IntegrityOptions
) -> tuple[int, str, int | None]:
    """Where the walk starts: after the last verified entry if it is unchanged, else from genesis."""
    if options.full or progress.position == 0:
        return 0, GENESIS_HASH, None
    anchor = anchor_of(conn, progress.position)
    if anchor[0] == progress.position and anchor[1] != progress.position_hash:
        evidence = {"expected_entry_hash": progress.position_hash, "found_entry_hash": anchor[1]}
        log.add(Problem(SELECTIVE_OMISSION, "entry_rewritten", f"seq:{anchor[0]}", evidence, seq=anchor[0]))
        return 0, GENESIS_HASH, None  # the chain was rewritten up to here: walk it all to find where
    return anchor


def _slice(total: int, options: IntegrityOptions) -> int:
    return max(1, math.ceil(total / max(1, options.rehash_period_runs)))


def _recheck_old_entries(conn: Connection, v: Verification, skew_us: int, options: IntegrityOptions) -> None:
    cursor = load_cursor(conn, "rehash_entries")
    if v.start_seq == 0:
        v.rechecked["old_entries"] = 0
        return
    begin = cursor.position if cursor.position < v.start_seq else 0
    end = min(begin + _slice(v.start_seq, options), v.start_seq)
    old = walk(conn, after=anchor_of(conn, begin), skew_us=skew_us, until_seq=end)
    v.log.extend(old.problems)
    v.log.extend(check_creates(conn, old.creates))
    cursor.position = 0 if end >= v.start_seq else end
    v.cursors.append(cursor)
    v.rechecked["old_entries"] = old.entries_checked


def _recheck_versions(conn: Connection, v: Verification, options: IntegrityOptions, window_start_us: int) -> None:
    recent = or_(A.c.ledger_seq > v.start_seq, A.c.created_at_us >= window_start_us)
    problems, _, recent_count = check_versions(conn, recent)
    v.log.extend(problems)
    cursor = load_cursor(conn, "rehash_artifacts")
    after = json.loads(cursor.position_key) if cursor.position_key else None
    where = (
        None
        if after is None
        else or_(A.c.artifact_id > after[0], and_(A.c.artifact_id == after[0], A.c.version > after[1]))
    )
    total = conn.execute(select(func.count()).select_from(A)).scalar_one()
    limit = _slice(int(total), options)
    problems, last_key, count = check_versions(conn, where, limit)
    v.log.extend(problems)
    cursor.position_key = json.dumps(list(last_key)) if last_key and count == limit else None
    v.cursors.append(cursor)
    v.rechecked["artifact_versions"] = recent_count + count


def _recheck_payloads(conn: Connection, v: Verification, options: IntegrityOptions) -> None:
    cursor = load_cursor(conn, "rehash_payloads")
    total = conn.execute(select(func.count()).select_from(payloads)).scalar_one()
    limit = _slice(int(total), options)
    problems, last, count = check_payloads(conn, cursor.position_key, limit)
    v.log.extend(problems)
    cursor.position_key = last if count == limit else None
    v.cursors.append(cursor)
    v.rechecked["payloads"] = count
