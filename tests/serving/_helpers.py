"""Helpers for the serving tests: a real server in a subprocess, HTTP requests, an ASGI caller.

The server tests start ``python -m modelpack serve`` on a free port on 127.0.0.1 and talk HTTP
to it with the standard library; the in-process tests call the ASGI app directly.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT = 120.0  # seconds; loading scikit-learn on a busy 2-core machine can be slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | None = None,
    *,
    content_type: str | None = "application/json",
    timeout: float = 30.0,
) -> Response:
    """One HTTP request on a fresh connection."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": content_type} if content_type and body is not None else {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@dataclass
class Server:
    """A ``modelpack serve`` subprocess and its log file."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return request(self.port, "POST", path, body, **kw)

    def get(self, path: str) -> Response:
        return request(self.port, "GET", path)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(
    model: str | Path, log_path: Path, *args: str, wait: bool = True, port: int | None = None
) -> Server:
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelpack", "serve", str(model), "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(proc, port, log_path)
    if wait:
        wait_ready(server)
    return server


def wait_ready(server: Server, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(
                f"the server exited with {server.proc.returncode}:\n{server.log()}"
            )
        try:
            if request(server.port, "GET", "/ping", timeout=5).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise AssertionError(f"the server was not ready after {timeout} s:\n{server.log()}")


# ------------------------------------------------------------------------- ASGI caller
def call_asgi(
    app: Any,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    root_path: str = "",
) -> Response:
    """Call an ASGI app once, the way a server does, and collect its answer."""
    parts = list(chunks) if chunks is not None else [body]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if parts:
            chunk = parts.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(parts)}
        await asyncio.sleep(3600)  # a real server would wait for more body or a disconnect
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "raw_path": (root_path + path).encode(),
        "query_string": b"",
        "headers": headers or [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    start, *bodies = sent
    head = {k.decode(): v.decode() for k, v in start["headers"]}
    return Response(start["status"], head, b"".join(m.get("body", b"") for m in bodies))
