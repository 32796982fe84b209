"""Real tracking servers for the REST store's tests: ``mlflow server`` and ``modelpack server``
on 127.0.0.1.

One server of each kind per test session (SQLite backend and a proxied artifacts folder in a
temporary directory, its log in ``server.log`` there); every test using ``server`` or ``rest``
runs against both. Tests point modelpack at it through
``MODELPACK_STORE_URI`` and use fresh names, so they do not depend on each other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _services import free_port

import modelpack
from modelpack._store import close_stores

SERVER_KINDS = ["mlflow", "modelpack"]


@dataclass
class Server:
    url: str
    root: Path
    proc: subprocess.Popen[bytes]
    port: int

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")[-4000:]


def _wait_healthy(server: Server, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server not healthy within {timeout:.0f} s:\n{server.log()}")


def start_mlflow_server(root: Path, port: int | None = None) -> Server:
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    cmd = [
        str(mlflow), "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    log = open(root / "server.log", "ab")  # noqa: SIM115 - the server process writes it
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    log.close()
    server = Server(f"http://127.0.0.1:{port}", root, proc, port)
    try:
        _wait_healthy(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def start_modelpack_server(
    root: Path,
    *,
    port: int | None = None,
    store: str | None = None,
    artifacts: str | None = None,
    env: dict[str, str] | None = None,
    workers: int = 1,
) -> Server:
    """``modelpack server`` on ``root``'s store (or ``store``), its log in ``root/server.log``."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    cmd = [
        sys.executable, "-m", "modelpack", "server",
        "--backend-store-uri", store or str(root / "store"),
        "--artifacts-destination", artifacts or str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPACK_STORE", "MLFLOW_"))}
    log = open(root / "server.log", "ab")  # noqa: SIM115 - the server process writes it
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env={**base, **(env or {})}
    )
    log.close()
    server = Server(f"http://127.0.0.1:{port}", root, proc, port)
    try:
        _wait_healthy(server, timeout=120)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"{request.param}-server")
    start = start_mlflow_server if request.param == "mlflow" else start_modelpack_server
    srv = start(root)
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture
def rest(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """modelpack pointed at the server; yields the opened store."""
    monkeypatch.setenv("MODELPACK_STORE_URI", server.url)
    monkeypatch.setenv("MODELPACK_HTTP_BACKOFF", "0.05")
    close_stores()
    from modelpack._store import get_store

    yield get_store()
    try:
        while modelpack.active_run() is not None:
            modelpack.end_run()
    finally:
        close_stores()


@pytest.fixture
def name() -> str:
    """A fresh name for an experiment or a registered model."""
    return f"t-{uuid.uuid4().hex[:10]}"
