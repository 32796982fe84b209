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
from collections.abc import Callable
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
    model: str | Path,
    log_path: Path,
    *args: str,
    wait: bool = True,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Server:
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
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


# ------------------------------------------------------------------ raw sockets, memory
def exchange(
    port: int, send: bytes | Callable[[socket.socket], None], *, timeout: float = 60.0
) -> bytes:
    """Send raw bytes (or run ``send`` on the socket), then read until the server closes.

    A server that refuses a request may close while the client is still sending; that is
    not an error here, the answer it sent first is what counts.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            if callable(send):
                send(sock)
            else:
                sock.sendall(send)
        except OSError:  # reset by the server after its answer
            pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse_response(raw: bytes) -> Response:
    """The first HTTP response in ``raw``."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return Response(status, headers, rest[:length])


def reset_peak_memory(pid: int) -> None:
    """Start measuring a process's peak resident memory (VmHWM) from now (Linux)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def memory_mib(pid: int) -> dict[str, int]:
    """The resident (VmRSS) and peak resident (VmHWM) memory of a process, in MiB (Linux)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024
    return out


# ------------------------------------------------------------------------------ models
def save_taxi_model(path: Path, taxi: Any, taxi_dv_lr: Any) -> Path:
    """The taxi model (DictVectorizer preprocessor + LinearRegression) saved at ``path``."""
    import modelpack

    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    modelpack.save_model(lr, path, preprocessor=dv, input_example=frame.head(3))
    return path


def save_numeric_model(path: Path) -> Path:
    """A LinearRegression on a ``double`` column ``a`` and a ``long`` column ``b``."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelpack

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.5, 4.0], "b": [1, 2, 3, 5]})
    model = LinearRegression().fit(frame, [1.0, 2.0, 3.0, 4.0])
    modelpack.save_model(model, path, input_example=frame.head(2))
    return path


def save_tensor_model(path: Path) -> Path:
    """A LinearRegression on a float64 tensor of shape (-1, 3)."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import modelpack

    x = np.arange(30, dtype=np.float64).reshape(10, 3) % 7
    modelpack.save_model(LinearRegression().fit(x, x.sum(axis=1)), path, input_example=x[:2])
    return path
