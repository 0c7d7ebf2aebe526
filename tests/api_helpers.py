"""Serve the API over real HTTP for tests: uvicorn in a thread on 127.0.0.1 with a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

START_TIMEOUT_S = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(integration_id: str) -> str:
    return f"demo-token-{integration_id}"


def headers(integration_id: str, actor_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(integration_id)}", "X-Bucket-Actor": actor_id}


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yield its base URL; always stop it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def client(base_url: str, integration_id: str, actor_id: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=headers(integration_id, actor_id), timeout=30)
