"""What tamper evidence costs: verification, checkpoints and proofs, each against a baseline in the same run.

* ``verify_chain`` — ``ledger.verify.verify_chain``'s per-entry checks (canonical bytes spliced from the
  stored columns, chain hash, link, sequence; the batch fast path of ``ledger/chain_scan.py``) over N
  stored rows vs a raw chained SHA-256 loop over the same canonical bytes (already built): ratio = checked
  entries/s ÷ raw entries/s, target ≥ 0.5. In memory; the previous row-by-row check (``_check_row``, now
  only the exact fallback) is timed in the same run for before/after, and ``verify_chain_db`` reads the
  rows from a SQLite ledger, for scale.
* ``verify``     — the same ratio for the audit-integrity walk (``checks/integrity_ledger.py``: the same
  fast path, plus time order and the CREATE bookkeeping for the artifact cross-check), with its previous
  row-by-row check (``_check``, now only the fallback) timed in the same run; ``verify_db`` reads from SQLite.
* ``checkpoint`` — ``create_checkpoint`` after K appends on a ledger of LARGE entries vs on a ledger of K
  entries (both SQLite, both previously checkpointed): ratio = large ÷ small seconds, target ≤ 1.5 — the
  stored frontier makes a checkpoint cost O(K + log n), not O(n).
* ``proofs``     — inclusion-proof generation and offline verification per second on a tree of P leaves:
  ``MerkleTree`` (levels built once, timed separately) vs ``merkle.inclusion_proof`` (recomputes the
  subtrees from the leaves for every proof) on a few of the same indexes.

    python bench/verify_path.py [--entries N] [--large N] [--appends K] [--proof-leaves P] [--trials T]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import namedtuple
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert

from bucket_governance.checks.integrity_ledger import Walk as WalkState
from bucket_governance.checks.integrity_ledger import _check, walk, walk_rows
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import ledger_entries
from bucket_governance.ledger.canonical import GENESIS_HASH, LedgerEntry, chain_hash
from bucket_governance.ledger.chain_scan import CHAIN_COLUMNS, scan_chain
from bucket_governance.ledger.checkpoint_store import create_checkpoint
from bucket_governance.ledger.merkle import MerkleFrontier, inclusion_proof, leaf_hash, verify_inclusion
from bucket_governance.ledger.merkle_tree import MerkleTree
from bucket_governance.ledger.stored import stored_canonical_bytes
from bucket_governance.ledger.verify import _check_row, verify_chain

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
T0 = 1_800_000_000_000_000
KEY = Ed25519PrivateKey.generate()


def make_rows(count: int, start_seq: int = 1, prev_hash: str = GENESIS_HASH) -> list[dict[str, Any]]:
    rng = random.Random(start_seq)
    rows = []
    for seq in range(start_seq, start_seq + count):
        entry = LedgerEntry(
            seq=seq,
            recorded_at_us=T0 + seq * 1000,
            operation="CREATE",
            decision="ALLOW",
            reasons=(),
            actor_id="gurukul.engineer",
            integration_id="gurukul.gateway",
            product_id="gurukul",
            artifact_id=f"lesson-{seq}",
            version=1,
            content_hash=hashlib.sha256(str(seq).encode()).hexdigest(),
            policy_fingerprint="ab" * 32,
            details={"size_bytes": rng.randrange(10_000), "metadata_sha256": "cd" * 32, "owner_id": "gurukul.owner"},
        )
        canonical, reasons, details = entry.canonical_parts()
        entry_hash = chain_hash(prev_hash, canonical)
        rows.append(
            {**entry.__dict__, "reasons": reasons, "details": details, "prev_hash": prev_hash, "entry_hash": entry_hash}
        )
        prev_hash = entry_hash
    return rows


def best_of(trials: int, run: Callable[[], None]) -> float:
    return interleaved(trials, run)[0]


def interleaved(trials: int, *runs: Callable[[], None]) -> list[float]:
    """Best time of each run over ``trials`` rounds, the runs alternating so load hits them alike."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(trials):
        for run, spent in zip(runs, times, strict=True):
            started = time.perf_counter()
            run()
            spent.append(time.perf_counter() - started)
    return [min(spent) for spent in times]


def raw_chain(canonical: list[bytes]) -> Callable[[], None]:
    """The baseline: a bare chained SHA-256 loop over prebuilt canonical bytes."""

    def raw() -> None:
        prev = bytes(32)
        for data in canonical:
            prev = hashlib.sha256(prev + data).digest()

    return raw


def bench_verify(entries: int, trials: int, batch: int = 5000) -> dict[str, Any]:
    """The integrity walk's loop (fast path + its own checks) vs the raw loop, and the old row-by-row check."""
    rows = _chain_rows(entries)
    canonical = [stored_canonical_bytes(r) for r in rows]

    def checked() -> None:
        state = WalkState(last_seq=0, last_hash=GENESIS_HASH, last_time_us=None)
        for start in range(0, entries, batch):  # as walk gets them from iter_chain_rows
            walk_rows(state, rows[start : start + batch], 5_000_000)
        assert state.ok and state.entries_checked == entries and len(state.creates) == entries

    def row_by_row() -> None:  # the loop the walk ran before the fast path
        state = WalkState(last_seq=0, last_hash=GENESIS_HASH, last_time_us=None)
        for row in rows:
            _check(state, row, 5_000_000)
        assert state.ok and len(state.creates) == entries

    raw_s, walk_s, before_s = interleaved(trials, raw_chain(canonical), checked, row_by_row)
    result = _ratio("verify", entries, walk_s, raw_s, target=0.5, higher_is_better=True)
    return {**result, "row_by_row_seconds": before_s, "row_by_row_ratio": raw_s / before_s}


ChainRow = namedtuple("ChainRow", [c.name for c in CHAIN_COLUMNS])  # type: ignore[misc]  # like a Core Row


def _chain_rows(entries: int) -> list[Any]:
    return [ChainRow(**{c: r[c] for c in ChainRow._fields}) for r in make_rows(entries)]


def bench_verify_chain(entries: int, trials: int, batch: int = 5000) -> dict[str, Any]:
    """``verify_chain``'s loop (fast path + exact fallback) vs the raw loop, and the old row-by-row check."""
    rows = _chain_rows(entries)
    canonical = [stored_canonical_bytes(r) for r in rows]
    problems: list[Any] = []

    def exact(row: Any, prev_seq: int, prev_hash: str) -> None:
        problems.extend(_check_row(row, prev_seq, prev_hash))

    def checked() -> None:
        anchor = (0, GENESIS_HASH)
        for start in range(0, entries, batch):  # as verify_chain gets them from iter_chain_rows
            anchor = scan_chain(rows[start : start + batch], *anchor, exact)
        assert anchor[0] == entries

    def row_by_row() -> None:  # the loop verify_chain ran before the fast path
        last_seq, last_hash = 0, GENESIS_HASH
        for row in rows:
            problems.extend(_check_row(row, last_seq, last_hash))
            last_seq, last_hash = row.seq, row.entry_hash

    raw_s, fast_s, before_s = interleaved(trials, raw_chain(canonical), checked, row_by_row)
    assert not problems
    result = _ratio("verify_chain", entries, fast_s, raw_s, target=0.5, higher_is_better=True)
    return {**result, "row_by_row_seconds": before_s, "row_by_row_ratio": raw_s / before_s}


def bench_verify_db(entries: int, folder: Path) -> dict[str, Any]:
    engine = _ledger_db(folder / "verify.db", entries)
    with engine.connect() as conn:
        started = time.perf_counter()
        state = walk(conn, after=(0, GENESIS_HASH, None), skew_us=5_000_000)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        report = verify_chain(conn)
        chain_s = time.perf_counter() - started
    engine.dispose()
    assert state.ok and state.entries_checked == entries and report.ok and report.entries_checked == entries
    chain = {"entries": entries, "seconds": chain_s, "entries_per_second": entries / chain_s}
    return {"entries": entries, "seconds": elapsed, "entries_per_second": entries / elapsed, "verify_chain": chain}


def _ledger_db(path: Path, entries: int, chunk: int = 20_000) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    prev = GENESIS_HASH
    for start in range(1, entries + 1, chunk):
        rows = make_rows(min(chunk, entries - start + 1), start, prev)
        with engine.begin() as conn:
            conn.execute(insert(ledger_entries), rows)
        prev = rows[-1]["entry_hash"]
    return engine


def _append(engine: Engine, base: int, count: int) -> None:
    with engine.connect() as conn:
        prev = conn.exec_driver_sql(f"SELECT entry_hash FROM ledger_entries WHERE seq = {base}").scalar_one()
    with engine.begin() as conn:
        conn.execute(insert(ledger_entries), make_rows(count, base + 1, prev))


def bench_checkpoint(large: int, appends: int, folder: Path, trials: int) -> dict[str, Any]:
    """Best of ``trials`` rounds of (append K, checkpoint) on each ledger; only the checkpoint is timed."""
    seconds = {}
    for label, base in (("small", appends), ("large", large)):
        engine = _ledger_db(folder / f"cp-{label}.db", base)
        create_checkpoint(engine, KEY, "bench")  # the previous checkpoint: frontier stored at `base`
        times = []
        for _ in range(trials):
            _append(engine, base, appends)
            base += appends
            started = time.perf_counter()
            stored = create_checkpoint(engine, KEY, "bench")
            times.append(time.perf_counter() - started)
            assert stored.tree_size == base
        seconds[label] = min(times)
        engine.dispose()
    result = _ratio("checkpoint", appends, seconds["large"], seconds["small"], target=1.5, higher_is_better=False)
    return {**result, "large_ledger": large, "small_ledger": appends}


def bench_proofs(leaves: int, count: int, reference_count: int = 5) -> dict[str, Any]:
    """Proofs from a ``MerkleTree`` (build timed apart) vs ``merkle.inclusion_proof`` on the first indexes."""
    hashes = [leaf_hash(i.to_bytes(8, "big")) for i in range(leaves)]
    frontier = MerkleFrontier()
    frontier.extend(hashes)
    root = frontier.root()
    indexes = random.Random(1).sample(range(leaves), count)
    started = time.perf_counter()
    tree = MerkleTree(hashes)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    proofs = [tree.inclusion_proof(i) for i in indexes]
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    reference = [inclusion_proof(i, hashes) for i in indexes[:reference_count]]
    reference_s = time.perf_counter() - started
    assert reference == proofs[:reference_count]  # byte-identical
    started = time.perf_counter()
    ok = all(verify_inclusion(i, leaves, hashes[i], p, root) for i, p in zip(indexes, proofs, strict=True))
    verify_s = time.perf_counter() - started
    assert ok and tree.root() == root
    return {
        "tree_leaves": leaves,
        "proofs": count,
        "build_seconds": build_s,
        "generated_per_second": count / generate_s,
        "generated_per_second_with_build": count / (build_s + generate_s),
        "reference_proofs": reference_count,
        "reference_generated_per_second": reference_count / reference_s,
        "verified_per_second": count / verify_s,
        "path_length": len(proofs[0]),
    }


def _ratio(
    case: str, n: int, measured: float, baseline: float, *, target: float, higher_is_better: bool
) -> dict[str, Any]:
    if higher_is_better:
        ratio = baseline / measured  # rate ratio: (n / measured) ÷ (n / baseline)
        meets = ratio >= target
    else:
        ratio = measured / baseline
        meets = ratio <= target
    return {
        "case": case,
        "n": n,
        "seconds": measured,
        "baseline_seconds": baseline,
        "ratio": ratio,
        "target_ratio": target,
        "meets_target": meets,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=10_000)
    parser.add_argument("--proof-leaves", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        folder = Path(tmp)
        report = {
            "verify_chain": bench_verify_chain(args.entries, args.trials),
            "verify": bench_verify(args.entries, args.trials),
            "verify_db": bench_verify_db(args.entries, folder),
            "checkpoint": bench_checkpoint(args.large, args.appends, folder, args.trials),
            "proofs": bench_proofs(args.proof_leaves, args.proofs),
        }
    report["environment"] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_1_5_15": os.getloadavg(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "verify_path-sqlite.json").write_text(json.dumps(report, indent=2) + "\n")
    _print_summary(report, args)


def _print_summary(report: dict[str, Any], args: argparse.Namespace) -> None:
    n, vc, v, c, p = args.entries, report["verify_chain"], report["verify"], report["checkpoint"], report["proofs"]
    raw = n / vc["baseline_seconds"]
    print(f"verify_chain: {n / vc['seconds']:,.0f} entries/s vs raw {raw:,.0f}/s -> ratio {vc['ratio']:.2f} (>= 0.5)")
    print(f"  row by row (before): {n / vc['row_by_row_seconds']:,.0f} entries/s -> {vc['row_by_row_ratio']:.2f}")
    print(
        f"verify (integrity walk): {n / v['seconds']:,.0f} entries/s vs raw {n / v['baseline_seconds']:,.0f}/s -> {v['ratio']:.2f}"
    )
    print(f"  row by row (before): {n / v['row_by_row_seconds']:,.0f} entries/s -> {v['row_by_row_ratio']:.2f}")
    db = report["verify_db"]
    print(
        f"from SQLite: verify_chain {db['verify_chain']['entries_per_second']:,.0f}/s, walk {db['entries_per_second']:,.0f}/s"
    )
    print(
        f"checkpoint: {c['seconds'] * 1000:.0f} ms after {args.appends:,} appends on {args.large:,}"
        f" vs {c['baseline_seconds'] * 1000:.0f} ms on {args.appends:,} -> ratio {c['ratio']:.2f} (<= 1.5)"
    )
    print(
        f"proofs ({p['tree_leaves']:,} leaves): tree built in {p['build_seconds'] * 1000:.0f} ms, then"
        f" {p['generated_per_second']:,.0f} generated/s ({p['generated_per_second_with_build']:,.0f}/s with the"
        f" build over {p['proofs']:,}); recomputing: {p['reference_generated_per_second']:,.1f}/s;"
        f" {p['verified_per_second']:,.0f} verified/s"
    )


if __name__ == "__main__":
    main()
