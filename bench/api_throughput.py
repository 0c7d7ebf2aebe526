"""HTTP throughput and p99 latency of the governed API vs a bare FastAPI endpoint, in the same run.

Both servers run as one uvicorn process each, on a fresh SQLite file made by the same engine factory
(WAL, ``BEGIN IMMEDIATE``), and are driven by the same client: ``--clients`` concurrent HTTP clients
(default 50), each sending ``--requests`` requests.

* governed — ``create_app()``: bearer + actor authentication, rate limiter (raised for the benchmark so it
  never refuses), the gate, payload + artifact version + ledger entry in one transaction (writes); a
  governed, ledger-recorded READ (reads).
* bare — a FastAPI app with the same two routes doing one INSERT of the same row (writes) and one SELECT by
  primary key (reads), no authentication, no gate, no ledger.

The figure of merit is the throughput ratio governed / bare (target ≥ 0.5) and the governed p99 against the
SPEC targets (write 100 ms, read 50 ms). Nothing here asserts; results go to bench/results/.

    python bench/api_throughput.py [--clients 50] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HEADERS = {"Authorization": "Bearer demo-token-gurukul.gateway", "X-Bucket-Actor": "gurukul.engineer"}


class BareBody(BaseModel):
    artifact_class: str
    artifact_id: str
    payload_text: str
    metadata: dict[str, Any] = {}


# -- the two servers (run in a subprocess: `--serve governed|bare`) ------------------------------------------


def governed_app(db_url: str) -> Any:
    from bucket_governance.db import make_engine, upgrade_to_head
    from bucket_governance.policy import LoadedPolicy, load_policy
    from bucket_governance_api import create_app

    engine = make_engine(db_url)
    upgrade_to_head(engine)
    policy = load_policy(ROOT / "include" / "policy")
    fast = [
        p.model_copy(update={"write_rate_per_second": 1e9, "read_rate_per_second": 1e9}) for p in policy.policy.products
    ]
    return create_app(
        engine=engine, policy=LoadedPolicy(policy.policy.model_copy(update={"products": fast}), policy.sources)
    )


def bare_app(db_url: str) -> Any:
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert, select

    from bucket_governance.db import make_engine

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
    engine = make_engine(db_url)
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


def serve(kind: str, db_url: str, port: int) -> None:
    import uvicorn

    app = governed_app(db_url) if kind == "governed" else bare_app(db_url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load -------------------------------------------------------------------------------------------------


async def _client(base: str, ids: list[str], method: str, latencies: list[float], errors: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as client:
        for artifact_id in ids:
            start = time.perf_counter()
            if method == "write":
                body = {
                    "artifact_class": "ContentArtifact",
                    "artifact_id": artifact_id,
                    "payload_text": "x" * 512,
                    "metadata": {"topic": "bench"},
                }
                response = await client.post("/artifacts", json=body)
            else:
                response = await client.get(f"/artifacts/{artifact_id}")
            latencies.append(time.perf_counter() - start)
            if response.status_code >= 300:
                errors.append(response.status_code)


async def _phase(base: str, batches: list[list[str]], method: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_client(base, ids, method, latencies, errors) for ids in batches))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(kind: str, clients: int, per_client: int, workdir: Path) -> dict[str, Any]:
    port = _free_port()
    db_url = f"sqlite:///{workdir / f'{kind}.db'}"
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--db", db_url, "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process)
        warm = [[f"warm-{uuid.uuid4().hex[:12]}" for _ in range(5)] for _ in range(clients)]
        asyncio.run(_phase(base, warm, "write"))  # not reported: connections, caches, first-request costs
        ids = [[f"bench-{uuid.uuid4().hex[:16]}" for _ in range(per_client)] for _ in range(clients)]
        writes = asyncio.run(_phase(base, ids, "write"))
        reads = asyncio.run(_phase(base, ids, "read"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"write": writes, "read": reads}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client and phase")
    parser.add_argument("--serve", choices=["governed", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db, args.port)
        return
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        bare = measure("bare", args.clients, args.requests, Path(tmp))
        governed = measure("governed", args.clients, args.requests, Path(tmp))
    report = {
        "benchmark": "api_throughput",
        "dialect": "sqlite",
        "clients": args.clients,
        "requests_per_client": args.requests,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "governed": governed,
        "bare": bare,
        "ratio_write": round(governed["write"]["per_second"] / bare["write"]["per_second"], 3),
        "ratio_read": round(governed["read"]["per_second"] / bare["read"]["per_second"], 3),
        "targets_ms": {"write_p99": 100, "read_p99": 50},
    }
    failed = {k: v[p]["errors"] for k, v in (("governed", governed), ("bare", bare)) for p in ("write", "read")}
    if any(failed.values()):
        raise SystemExit(f"invalid run, some requests failed: {failed}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_throughput-sqlite.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
