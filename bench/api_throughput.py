"""HTTP throughput and latency of the governed API vs a bare FastAPI endpoint, in the same run.

Every server is one uvicorn process on a fresh database made by the same engine factory — a SQLite file
(WAL, ``BEGIN IMMEDIATE``) or a new PostgreSQL database (``--db postgres``: the server named by
``BUCKET_GOV_TEST_PG_URL`` or ``scripts/pg-cluster url``; dropped afterwards). Three servers per run:

* bare — a FastAPI app with the same two routes doing one INSERT of the same row (writes) and one SELECT by
  primary key (reads), no authentication, no gate, no ledger.
* governed-memory — ``create_app()``: bearer + actor authentication, the rate limiter (rates raised for
  the benchmark so it never refuses) with the in-process backend, the gate, payload + artifact version +
  ledger entry in one transaction (writes); a governed, ledger-recorded READ (reads).
* governed-database — the same with the default backend, ``database`` (limits shared by every API process
  through the governance database): the difference is the shared limiter's cost per request.

The load: ``--clients`` (default 50) concurrent clients, each a keep-alive HTTP/1.1 connection on one
asyncio loop sending its next request when the previous one answered (a closed loop). A warm-up (5 writes and 5 reads
per client, not reported) first; then ``--requests`` writes per client, then reads of those artifacts.
Latency is per request, from just before it is sent to its response. The loop's own lag (how late a 10 ms
timer fires while the load runs) is reported too, so client-side queuing is visible, not hidden.

Figures of merit: throughput ratio governed / bare (target ≥ 0.5), p50/p95/p99 against the SPEC targets
(write p99 100 ms, read p99 50 ms). Nothing here asserts; results go to bench/results/.

    python bench/api_throughput.py [--db sqlite|postgres] [--clients 50] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HEADERS = {"Authorization": "Bearer demo-token-gurukul.gateway", "X-Bucket-Actor": "gurukul.engineer"}
# server -> the rate-limiter backend it runs with (BUCKET_GOV_API_RATE_LIMIT_BACKEND)
SERVERS = {"bare": "memory", "governed-memory": "memory", "governed-database": "database"}


class BareBody(BaseModel):
    artifact_class: str
    artifact_id: str
    payload_text: str
    metadata: dict[str, Any] = {}


# -- the servers (each runs in a subprocess: `--serve <server>`) --------------------------------------------


def governed_app(db_url: str) -> Any:
    from bucket_governance.db import upgrade_to_head
    from bucket_governance.policy import LoadedPolicy, load_policy
    from bucket_governance.settings import Settings
    from bucket_governance_api import create_app
    from bucket_governance_api.context import api_engine

    settings = Settings()  # BUCKET_GOV_API_RATE_LIMIT_BACKEND comes from the environment the parent set
    engine = api_engine(db_url)
    upgrade_to_head(engine)
    policy = load_policy(ROOT / "include" / "policy")
    fast = [
        p.model_copy(update={"write_rate_per_second": 1e9, "read_rate_per_second": 1e9}) for p in policy.policy.products
    ]
    return create_app(
        settings=settings,
        engine=engine,
        policy=LoadedPolicy(policy.policy.model_copy(update={"products": fast}), policy.sources),
    )


def bare_app(db_url: str) -> Any:
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert, select

    from bucket_governance_api.context import api_engine

    metadata = MetaData()
    table = Table(
        "bare_artifacts",
        metadata,
        Column("artifact_id", String(128), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("product_id", String(64)),
        Column("artifact_class", String(64)),
        Column("created_by", String(64)),
        Column("created_at_us", BigInteger),
        Column("payload", Text),
        Column("metadata", Text),
    )
    engine = api_engine(db_url)  # the same pool as the governed side: only governance differs
    metadata.create_all(engine)
    app = FastAPI()

    @app.post("/artifacts", status_code=201)
    def write(body: BareBody) -> dict[str, Any]:
        row = {
            "artifact_id": body.artifact_id,
            "version": 1,
            "product_id": "gurukul",
            "artifact_class": body.artifact_class,
            "created_by": "gurukul.engineer",
            "created_at_us": time.time_ns() // 1000,
            "payload": body.payload_text,
            "metadata": json.dumps(body.metadata),
        }
        with engine.begin() as conn:
            conn.execute(insert(table).values(row))
        return {"artifact_id": body.artifact_id, "version": 1}

    @app.get("/artifacts/{artifact_id}")
    def read(artifact_id: str) -> dict[str, Any]:
        with engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.artifact_id == artifact_id)).first()
        if row is None:
            raise HTTPException(404)
        return {"artifact": dict(row._mapping)}

    return app


def serve(server: str, db_url: str, port: int) -> None:
    import uvicorn

    app = bare_app(db_url) if server == "bare" else governed_app(db_url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the databases ---------------------------------------------------------------------------------------------


def _pg_admin_url() -> str:
    url = os.environ.get("BUCKET_GOV_TEST_PG_URL")
    if url:
        return url
    found = subprocess.run([str(ROOT / "scripts" / "pg-cluster"), "url"], capture_output=True, text=True, check=False)
    if found.returncode != 0 or not found.stdout.strip():
        raise SystemExit("--db postgres needs BUCKET_GOV_TEST_PG_URL or a running `scripts/pg-cluster start`")
    return found.stdout.strip()


@contextmanager
def fresh_database(dialect: str, workdir: Path, server: str) -> Iterator[str]:
    """A new, empty database for one server, removed afterwards."""
    if dialect == "sqlite":
        yield f"sqlite:///{workdir / f'{server}.db'}"
        return
    from sqlalchemy import create_engine, make_url, text

    admin_url = _pg_admin_url()
    name = f"bench_api_{server.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- the load -------------------------------------------------------------------------------------------------


def _body(artifact_id: str) -> dict[str, Any]:
    return {
        "artifact_class": "ContentArtifact",
        "artifact_id": artifact_id,
        "payload_text": "x" * 512,
        "metadata": {"topic": "bench"},
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for these two routes.

    Not httpx: on a 2-CPU machine an httpx request costs the client more CPU than the bare server spends
    answering it, so 50 httpx clients on one loop measured the client's own queue (loop lag p99 ≈ 0.4 s),
    not the server. A few bytes in, a status line, headers and a Content-Length body out keeps the client
    cheap, so the latency is the server's.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader, self._writer, self._host = reader, writer, host
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    def request_bytes(self, method: str, path: str, body: bytes = b"") -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    async def send(self, raw: bytes) -> int:
        """Send one request, read its whole response; the status code."""
        self._writer.write(raw)
        status = int((await self._reader.readline()).split()[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return status

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def _client(conn: _Connection, ids: list[str], method: str, latencies: list[float], errors: list[int]) -> None:
    for artifact_id in ids:
        if method == "write":
            raw = conn.request_bytes("POST", "/artifacts", json.dumps(_body(artifact_id)).encode())
        else:
            raw = conn.request_bytes("GET", f"/artifacts/{artifact_id}")
        start = time.perf_counter()  # from sending to the whole response
        status = await conn.send(raw)
        latencies.append(time.perf_counter() - start)
        if status >= 300:
            errors.append(status)


async def _loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late a 10 ms timer fires: the time a response can wait on the client before it is noticed."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - start - 0.01)


def _percentile(ordered: list[float], fraction: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 2)


async def _phase(clients: list[_Connection], batches: list[list[str]], method: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []
    lags: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_loop_lag(stop, lags))
    start = time.perf_counter()
    await asyncio.gather(*(_client(c, ids, method, latencies, errors) for c, ids in zip(clients, batches, strict=True)))
    elapsed = time.perf_counter() - start
    stop.set()
    await sampler
    ordered, lag = sorted(latencies), sorted(lags) or [0.0]
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": _percentile(ordered, 0.50),
        "p95_ms": _percentile(ordered, 0.95),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "client_loop_lag_p99_ms": _percentile(lag, 0.99),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ids(prefix: str, clients: int, each: int) -> list[list[str]]:
    return [[f"{prefix}-{uuid.uuid4().hex[:16]}" for _ in range(each)] for _ in range(clients)]


async def _load(port: int, clients: int, per_client: int) -> dict[str, Any]:
    # Connections are opened before any clock runs and kept for every phase.
    pool = [await _Connection.open("127.0.0.1", port) for _ in range(clients)]
    try:
        warm = _ids("warm", clients, 5)  # not reported: connections, pools, caches, first-request costs
        await _phase(pool, warm, "write")
        await _phase(pool, warm, "read")
        ids = _ids("bench", clients, per_client)
        return {"write": await _phase(pool, ids, "write"), "read": await _phase(pool, ids, "read")}
    finally:
        await asyncio.gather(*(c.close() for c in pool))


def measure(server: str, db_url: str, clients: int, per_client: int) -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "BUCKET_GOV_API_RATE_LIMIT_BACKEND": SERVERS[server]}
    command = [sys.executable, __file__, "--serve", server, "--db-url", db_url, "--port", str(port)]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process)
        return asyncio.run(_load(port, clients, per_client))
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited before answering")
        try:
            httpx.get(f"{base}/openapi.json", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def _ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    bare = results["bare"]
    return {
        f"{server}_{phase}": round(results[server][phase]["per_second"] / bare[phase]["per_second"], 3)
        for server in results
        if server != "bare"
        for phase in ("write", "read")
    }


def run(dialect: str, clients: int, per_client: int, servers: list[str]) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        for server in servers:
            with fresh_database(dialect, Path(tmp), server) as db_url:
                results[server] = measure(server, db_url, clients, per_client)
    failed = {f"{s}.{p}": r[p]["errors"] for s, r in results.items() for p in ("write", "read") if r[p]["errors"]}
    if failed:
        raise SystemExit(f"invalid run, some requests failed: {failed}")
    return {
        "benchmark": "api_throughput",
        "dialect": dialect,
        "clients": clients,
        "requests_per_client": per_client,
        # the governed servers inherit the environment: record which mode they ran in (bench/README.md compares both)
        "group_commit": _group_commit_mode(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),  # the machine is shared: context for noise
        },
        **results,
        "ratios": _ratios(results),
        "targets_ms": {"write_p99": 100, "read_p99": 50},
    }


def _group_commit_mode() -> str:
    from bucket_governance.settings import Settings

    return Settings().api_group_commit  # what the governed servers read from the same environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client and phase")
    parser.add_argument("--servers", default=",".join(SERVERS), help="a comma-separated subset (bare first)")
    parser.add_argument("--serve", choices=list(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db_url, args.port)
        return
    dialect = "postgresql" if args.db == "postgres" else "sqlite"
    report = run(dialect, args.clients, args.requests, args.servers.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"api_throughput-{dialect}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
