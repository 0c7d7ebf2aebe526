"""What a threat scan costs: it must follow the window, not the history.

Two measurements, each on SQLite files built for the run (synthetic but schema-true ledger and artifact rows,
bulk-inserted — the scan does not verify hashes, the audit-integrity pipeline does):

* ``history`` — the same 15-minute window holding ``--window-events`` requests, scanned with all rules on a
  ledger of ``--small`` vs ``--large`` entries of older history at the same daily rate (10 k a day: 10 vs 500
  days), so look-backs see the same data and only the length differs. Target: large / small ≤ 1.5.
* ``pandas`` — a full scan of a window holding ``--bulk-events`` requests vs merely loading those ledger and
  artifact rows into pandas DataFrames (``pandas.read_sql``). Target: scan / load ≤ 3.

    python bench/threat_scan.py [--small 100000] [--large 5000000] [--window-events 10000] [--bulk-events 1000000]

Rules that read other pipelines' results (T3 from schema drift, T8/T5.direct_db_access from audit integrity)
report "not evaluated" here: no such run exists in these databases. Results: bench/results/threat_scan.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bucket_governance.checks.threats.registry import all_rules
from bucket_governance.checks.threats.scan import scan_window
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.policy import LoadedPolicy, load_policy

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "threat_scan.json"
WINDOW_END_US = 1_800_000_000_000_000
WINDOW_US = 15 * 60 * 1_000_000
DAY_US = 86_400_000_000
CHUNK = 50_000
PRODUCTS = {
    "ai_assistant": "ConversationArtifact",
    "ai_avatar": "MediaArtifact",
    "gurukul": "ContentArtifact",
    "enforcement": "DecisionArtifact",
    "workflow": "ExecutionTrace",
}


def rows(
    count: int, start_us: int, end_us: int, first_seq: int, rng: random.Random
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:
    """(ledger row, artifact row or None): three creates for every read, spread evenly over [start, end)."""
    step = max(1, (end_us - start_us) // max(count, 1))
    products = list(PRODUCTS)
    for i in range(count):
        seq = first_seq + i
        at = start_us + i * step
        product = products[i % len(products)]
        artifact_id = f"{product}-{seq:010d}"
        read = i % 4 == 3
        ledger = (seq, f"{seq - 1:064x}", f"{seq:064x}", at, "READ" if read else "CREATE", "ALLOW", "[]",
                  f"{product}.engineer", f"{product}.gateway", product, artifact_id, None if read else 1,
                  None if read else f"{seq:064x}", "0" * 64, "{}")  # fmt: skip
        if read:
            yield ledger, None
            continue
        metadata = json.dumps({"title": f"item {seq}", "lang": rng.choice(["en", "hi"])})
        provenance = json.dumps({"source": "bench", "intent": "synthetic history", "parents": []})
        artifact = (artifact_id, 1, product, PRODUCTS[product], f"{product}.owner", f"{product}.engineer",
                    f"{product}.gateway", at, at, f"{seq:064x}", 512, None, metadata, provenance, "1", seq)  # fmt: skip
        yield ledger, artifact


def fill(path: Path, history: int, window_events: int, per_day: int = 10_000, seed: int = 7) -> None:
    """History at ``per_day`` requests a day before the window (a longer history, not a denser one), then the
    window's events, bulk-inserted."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()
    rng = random.Random(seed)
    window_start = WINDOW_END_US - WINDOW_US
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        days = max(1, history // per_day)
        _insert(db, rows(history, window_start - days * DAY_US, window_start - 60_000_000, 1, rng))
        _insert(db, rows(window_events, window_start, WINDOW_END_US, history + 1, rng))


def _insert(db: sqlite3.Connection, source: Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]) -> None:
    ledger: list[tuple[Any, ...]] = []
    artifacts: list[tuple[Any, ...]] = []
    for entry, artifact in source:
        ledger.append(entry)
        if artifact is not None:
            artifacts.append(artifact)
        if len(ledger) >= CHUNK:
            _flush(db, ledger, artifacts)
    _flush(db, ledger, artifacts)


def _flush(db: sqlite3.Connection, ledger: list[tuple[Any, ...]], artifacts: list[tuple[Any, ...]]) -> None:
    db.executemany("INSERT INTO ledger_entries (seq, prev_hash, entry_hash, recorded_at_us, operation, decision, reasons, "
                   "actor_id, integration_id, product_id, artifact_id, version, content_hash, policy_fingerprint, details) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ledger)  # fmt: skip
    db.executemany("INSERT INTO artifact_versions (artifact_id, version, product_id, artifact_class, owner_id, created_by, "
                   "integration_id, created_at_us, claimed_at_us, content_hash, size_bytes, reference_url, metadata, "
                   "provenance, schema_version, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", artifacts)  # fmt: skip
    db.commit()
    ledger.clear()
    artifacts.clear()


def time_scan(path: Path, policy: LoadedPolicy, repeats: int) -> tuple[float, int]:
    engine = make_engine(f"sqlite:///{path}")
    times, findings = [], 0
    for _ in range(repeats):
        began = time.perf_counter()
        result = scan_window(engine, policy, window_start_us=WINDOW_END_US - WINDOW_US, window_end_us=WINDOW_END_US)
        times.append(time.perf_counter() - began)
        findings = result.hit_count
    engine.dispose()
    return min(times), findings


def time_pandas_load(path: Path, repeats: int) -> float:
    import pandas as pd

    engine = make_engine(f"sqlite:///{path}")
    start, end = WINDOW_END_US - WINDOW_US, WINDOW_END_US
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        with engine.connect() as conn:
            pd.read_sql(
                f"SELECT * FROM ledger_entries WHERE recorded_at_us >= {start} AND recorded_at_us < {end}", conn
            )
            pd.read_sql(
                f"SELECT * FROM artifact_versions WHERE created_at_us >= {start} AND created_at_us < {end}", conn
            )
        times.append(time.perf_counter() - began)
    engine.dispose()
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=5_000_000)
    parser.add_argument("--window-events", type=int, default=10_000)
    parser.add_argument("--bulk-events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    policy = load_policy(ROOT / "include" / "policy")
    rules = len(all_rules())
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        small, large, bulk = Path(tmp, "small.db"), Path(tmp, "large.db"), Path(tmp, "bulk.db")
        built = time.perf_counter()
        fill(small, args.small, args.window_events)
        fill(large, args.large, args.window_events)
        fill(bulk, 0, args.bulk_events)
        print(f"built the databases in {time.perf_counter() - built:.0f} s", file=sys.stderr)
        small_s, small_hits = time_scan(small, policy, args.repeats)
        large_s, large_hits = time_scan(large, policy, args.repeats)
        bulk_s, _ = time_scan(bulk, policy, 1)
        load_s = time_pandas_load(bulk, args.repeats)
    result = {
        "rules": rules,
        "history": {
            "small_entries": args.small,
            "large_entries": args.large,
            "window_events": args.window_events,
            "small_s": small_s,
            "large_s": large_s,
            "ratio": large_s / small_s,
            "target": 1.5,
            "hits": [small_hits, large_hits],
        },
        "pandas": {
            "events": args.bulk_events,
            "scan_s": bulk_s,
            "pandas_load_s": load_s,
            "ratio": bulk_s / load_s,
            "target": 3.0,
        },
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    h, p = result["history"], result["pandas"]
    print(f"{rules} rules; window of {h['window_events']:,} events on {h['small_entries']:,} vs {h['large_entries']:,} entries:"
          f" {h['small_s']:.3f} s vs {h['large_s']:.3f} s, ratio {h['ratio']:.2f} (target <= 1.5)")  # fmt: skip
    print(f"full scan of {p['events']:,} events {p['scan_s']:.2f} s vs pandas load {p['pandas_load_s']:.2f} s,"
          f" ratio {p['ratio']:.2f} (target <= 3)")  # fmt: skip
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
