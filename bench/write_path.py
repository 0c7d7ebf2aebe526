"""What governance costs on the write path: governed CREATE vs a raw insert of the same rows.

Two cases, each measured on fresh databases of the same dialect, migrated by the same migrations:

* ``batched`` — ``BucketStore.create_batch`` in batches of 500 vs SQLAlchemy Core ``executemany`` of the same
  payload + artifact_versions rows in batches of 500, one transaction per batch;
* ``single``  — ``BucketStore.create`` (one transaction per artifact) vs one transaction per payload +
  version row.

The raw side runs on a database where the append-only guards are dropped and there is no ledger (its
``artifact_versions.ledger_seq`` foreign key is dropped on PostgreSQL and not enforced on SQLite); its rows
are built before the clock starts, so it is the bare cost of writing the same data. A warm-up (not timed)
precedes each trial; each variant runs ``--trials`` times on a fresh database (interleaved governed/raw)
and the best trial is reported, with the median. See bench/README.md.

    python bench/write_path.py [--db sqlite|postgresql] [--rows N] [--single-rows N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, create_engine, event, insert, inspect, text
from sqlalchemy.engine import make_url

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore, now_us
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.db.tables import artifact_versions, payloads
from bucket_governance.ledger.canonical import sha256_hex
from bucket_governance.policy import LoadedPolicy, load_policy

ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = ROOT / "include" / "policy"
RESULTS_DIR = ROOT / "bench" / "results"
BATCH = 500
TARGET_RATIO = 0.5
PG_URL_VARIABLES = ("BUCKET_GOV_BENCH_PG_URL", "BUCKET_GOV_TEST_PG_URL")

# -- the data: the same items for both sides ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    artifact_id: str
    payload: bytes
    metadata: dict[str, Any]
    provenance: dict[str, Any]


def make_items(prefix: str, count: int, payload_bytes: int) -> list[Item]:
    filler = bytes(range(256)) * (payload_bytes // 256 + 1)
    items = []
    for i in range(count):
        head = f"{prefix}-{i:08d}|".encode()
        items.append(
            Item(
                artifact_id=f"gurukul-bench-{prefix}-{i:08d}",
                payload=(head + filler)[: max(payload_bytes, len(head))],
                metadata={"title": f"lesson {i}", "lang": "en", "tags": ["bench", prefix]},
                provenance={"source": "bench", "intent": "throughput measurement", "parents": []},
            )
        )
    return items


def as_request(item: Item) -> CreateRequest:
    return CreateRequest(
        actor_id="gurukul.engineer",
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_class="ContentArtifact",
        artifact_id=item.artifact_id,
        payload=item.payload,
        metadata=item.metadata,
        provenance=item.provenance,
    )


def as_raw_rows(items: Sequence[Item], first_seq: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(payload row, artifact_versions row) per item — exactly the columns the governed path writes."""
    created = now_us()
    rows = []
    for n, item in enumerate(items):
        content_hash = sha256_hex(item.payload)
        version = {
            "artifact_id": item.artifact_id,
            "version": 1,
            "product_id": "gurukul",
            "artifact_class": "ContentArtifact",
            "owner_id": "gurukul.owner",
            "created_by": "gurukul.engineer",
            "integration_id": "gurukul.gateway",
            "created_at_us": created,
            "claimed_at_us": None,
            "content_hash": content_hash,
            "size_bytes": len(item.payload),
            "reference_url": None,
            "metadata": json.dumps(item.metadata, sort_keys=True, separators=(",", ":")),
            "provenance": json.dumps(item.provenance, sort_keys=True, separators=(",", ":")),
            "schema_version": "1",
            "ledger_seq": first_seq + n,
        }
        rows.append(({"content_hash": content_hash, "size_bytes": len(item.payload), "data": item.payload}, version))
    return rows


def chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


# -- databases: fresh per trial, migrated identically -------------------------------------------------------


class Databases:
    """Hands out fresh, migrated databases of one dialect and removes them afterwards."""

    def __init__(self, dialect: str, pg_admin_url: str | None, workdir: Path) -> None:
        self.dialect = dialect
        self.workdir = workdir
        self.admin: Engine | None = None
        if dialect == "postgresql":
            if not pg_admin_url:
                raise ValueError("PostgreSQL needs an admin URL")
            self.admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")

    def fresh(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        if self.admin is None:
            return f"sqlite:///{self.workdir / (name + '.db')}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def remove(self, url: str) -> None:
        database = make_url(url).database or ""
        if self.dialect == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        elif self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def server_version(self) -> str:
        if self.admin is None:
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        with self.admin.connect() as conn:
            return str(conn.execute(text("SELECT version()")).scalar())

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()


def governed_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade_to_head(engine)
    return engine


def raw_engine(url: str) -> Engine:
    """Same migrations, then the guards dropped and the ledger foreign key out of the way."""
    migrate = make_engine(url)
    upgrade_to_head(migrate)
    with migrate.begin() as conn:
        for statement in drop_guard_statements(conn.dialect.name):
            conn.exec_driver_sql(statement)
        if conn.dialect.name == "postgresql":
            for fk in inspect(conn).get_foreign_keys("artifact_versions"):
                conn.exec_driver_sql(f'ALTER TABLE artifact_versions DROP CONSTRAINT "{fk["name"]}"')
    migrate.dispose()
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":  # SQLite cannot drop a constraint; stop enforcing it instead

        @event.listens_for(engine, "connect")
        def _no_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    return engine


# -- the four runners: each returns the seconds its measured items took -------------------------------------


def run_governed(engine: Engine, policy: LoadedPolicy, warm: list[Item], items: list[Item], batch: int) -> float:
    store = BucketStore(engine, policy)
    warm_requests, requests = [as_request(i) for i in warm], [as_request(i) for i in items]
    write: Callable[[Sequence[CreateRequest]], list[Any]] = (
        store.create_batch if batch > 1 else (lambda chunk: [store.create(chunk[0])])
    )
    for chunk in chunks(warm_requests, batch):
        write(chunk)
    outcomes: list[Any] = []
    start = time.perf_counter()
    for chunk in chunks(requests, batch):
        outcomes += write(chunk)
    elapsed = time.perf_counter() - start
    denied = [o.decision.message for o in outcomes if not o.allowed]
    if denied or len(outcomes) != len(items):
        raise RuntimeError(f"benchmark invalid: {len(outcomes)} outcomes for {len(items)} items, denied: {denied[:1]}")
    return elapsed


def run_raw(engine: Engine, warm: list[Item], items: list[Item], batch: int) -> float:
    warm_rows = as_raw_rows(warm, first_seq=1)
    rows = as_raw_rows(items, first_seq=len(warm) + 1)
    write = _raw_batch if batch > 1 else _raw_single
    for chunk in chunks(warm_rows, batch):
        write(engine, chunk)
    start = time.perf_counter()
    for chunk in chunks(rows, batch):
        write(engine, chunk)
    return time.perf_counter() - start


def _raw_batch(engine: Engine, chunk: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(payloads), [p for p, _ in chunk])
        conn.execute(insert(artifact_versions), [v for _, v in chunk])


def _raw_single(engine: Engine, chunk: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    ((payload_row, version_row),) = chunk
    with engine.begin() as conn:
        conn.execute(insert(payloads), payload_row)
        conn.execute(insert(artifact_versions), version_row)


# -- measurement ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    batch: int
    rows: int
    warmup: int


def measure_case(dbs: Databases, policy: LoadedPolicy, case: Case, trials: int, payload_bytes: int) -> dict[str, Any]:
    warm = make_items(f"warm-{case.name}", case.warmup, payload_bytes)
    items = make_items(case.name, case.rows, payload_bytes)
    speeds: dict[str, list[float]] = {"governed": [], "raw": []}
    for _ in range(trials):  # interleaved, so drift of the machine hits both sides alike
        for side in ("governed", "raw"):
            url = dbs.fresh()
            engine = governed_engine(url) if side == "governed" else raw_engine(url)
            try:
                if side == "governed":
                    seconds = run_governed(engine, policy, warm, items, case.batch)
                else:
                    seconds = run_raw(engine, warm, items, case.batch)
            finally:
                engine.dispose()
                dbs.remove(url)
            speeds[side].append(case.rows / seconds)
    summary = {side: _summary(values) for side, values in speeds.items()}
    ratio = summary["governed"]["rows_per_s"] / summary["raw"]["rows_per_s"]
    median_ratio = summary["governed"]["median_rows_per_s"] / summary["raw"]["median_rows_per_s"]
    return {
        "batch_size": case.batch,
        "rows": case.rows,
        "warmup_rows": case.warmup,
        **summary,
        "ratio": round(ratio, 3),
        "median_ratio": round(median_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }


def _summary(values: list[float]) -> dict[str, Any]:
    """Best of the trials is the figure (interference from other processes only ever slows a run down)."""
    return {
        "rows_per_s": round(max(values), 1),
        "median_rows_per_s": round(statistics.median(values), 1),
        "trials_rows_per_s": [round(v, 1) for v in values],
    }


def count_statements(dbs: Databases, policy: LoadedPolicy, payload_bytes: int) -> dict[str, int]:
    """Statements (round trips on PostgreSQL) one governed write sends, BEGIN/COMMIT not included."""
    url = dbs.fresh()
    engine = governed_engine(url)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    store = BucketStore(engine, policy)
    counts = {}
    try:
        store.create_batch([as_request(i) for i in make_items("count-warm", BATCH, payload_bytes)])
        for name, size in (("single", 1), ("batched", BATCH)):
            sent.clear()
            store.create_batch([as_request(i) for i in make_items(f"count-{name}", size, payload_bytes)])
            counts[name] = sum(1 for s in sent if s.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT"))
    finally:
        engine.dispose()
        dbs.remove(url)
    return counts


def profile_governed(dbs: Databases, policy: LoadedPolicy, case: Case, payload_bytes: int, top: int) -> None:
    """cProfile one governed run of the case and print where its time goes."""
    warm = make_items(f"warm-{case.name}", case.warmup, payload_bytes)
    items = make_items(case.name, case.rows, payload_bytes)
    url = dbs.fresh()
    engine = governed_engine(url)
    profiler = cProfile.Profile()
    try:
        profiler.runcall(run_governed, engine, policy, warm, items, case.batch)
    finally:
        engine.dispose()
        dbs.remove(url)
    print(f"\n--- cProfile: governed {case.name} on {dbs.dialect} ({case.rows} rows, warm-up included) ---")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def run_dialect(dialect: str, args: argparse.Namespace, pg_admin_url: str | None) -> dict[str, Any]:
    policy = load_policy(POLICY_DIR)
    cases = [
        Case("batched", BATCH, args.rows, warmup=BATCH),
        Case("single", 1, args.single_rows, warmup=max(20, args.single_rows // 10)),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-write-path-") as workdir:
        dbs = Databases(dialect, pg_admin_url, Path(workdir))
        try:
            result = {
                "benchmark": "write_path",
                "dialect": dialect,
                "server": dbs.server_version(),
                "python": platform.python_version(),
                "sqlalchemy": sqlalchemy.__version__,
                "cpus": os.cpu_count(),
                "trials": args.trials,
                "statistic": "best of trials (median also given)",
                "payload_bytes": args.payload_bytes,
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "cases": {c.name: measure_case(dbs, policy, c, args.trials, args.payload_bytes) for c in cases},
                "governed_statements_per_write": count_statements(dbs, policy, args.payload_bytes),
                "raw_statements_per_write": {"single": 2, "batched": 2},
            }
            if args.profile:
                for case in cases:
                    profile_governed(dbs, policy, case, args.payload_bytes, args.profile_top)
        finally:
            dbs.close()
    return result


# -- command line -----------------------------------------------------------------------------------------------


def print_result(result: dict[str, Any]) -> None:
    print(f"\n{result['dialect']} ({result['server'].split(',')[0]}), best of {result['trials']} trials")
    print(f"  {'case':<8} {'governed rows/s':>16} {'raw rows/s':>12} {'ratio':>7}  target ≥ {TARGET_RATIO}")
    for name, case in result["cases"].items():
        verdict = "ok" if case["meets_target"] else "BELOW"
        print(
            f"  {name:<8} {case['governed']['rows_per_s']:>16,.0f} {case['raw']['rows_per_s']:>12,.0f} "
            f"{case['ratio']:>7.3f}  {verdict}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db", choices=("sqlite", "postgresql"), action="append", help="dialect to measure (default: both)"
    )
    parser.add_argument("--rows", type=int, default=5000, help="rows of the batched case (default 5000)")
    parser.add_argument("--single-rows", type=int, default=400, help="rows of the single case (default 400)")
    parser.add_argument("--trials", type=int, default=3, help="fresh-database trials per variant (default 3)")
    parser.add_argument("--payload-bytes", type=int, default=512, help="payload size per row (default 512)")
    parser.add_argument(
        "--pg-url", help=f"admin URL of a PostgreSQL server (default: ${' or $'.join(PG_URL_VARIABLES)})"
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile one governed run of each case")
    parser.add_argument("--profile-top", type=int, default=25, help="functions to list per profile (default 25)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where write_path-<dialect>.json goes")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.single_rows < 1 or args.trials < 1:
        parser.error("--rows, --single-rows and --trials must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pg_admin_url = args.pg_url or next((os.environ[v] for v in PG_URL_VARIABLES if os.environ.get(v)), None)
    dialects = args.db or ["sqlite", "postgresql"]
    if "postgresql" in dialects and not pg_admin_url:
        if args.db:
            print("--db postgresql needs a server: pass --pg-url or set BUCKET_GOV_BENCH_PG_URL", file=sys.stderr)
            return 2
        print("no PostgreSQL URL (--pg-url / BUCKET_GOV_BENCH_PG_URL): measuring SQLite only", file=sys.stderr)
        dialects.remove("postgresql")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for dialect in dialects:
        result = run_dialect(dialect, args, pg_admin_url)
        print_result(result)
        out = args.out_dir / f"write_path-{dialect}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"  written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
