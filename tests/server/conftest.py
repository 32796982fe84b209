"""Real ``modelpack server`` processes on 127.0.0.1, each logging to a file in tmp_path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    url: str
    log: Path
    process: subprocess.Popen[bytes]


def call(
    url: str,
    method: str = "GET",
    body: Any = None,
    *,
    token: str | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """One HTTP call; the status and the decoded JSON answer (errors included)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _wait(url: str, running: Running) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"server exited: {running.log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not start: {running.log.read_text()}")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(
        *,
        store: Path | None = None,
        artifacts: Path | None = None,
        token_file: Path | None = None,
        workers: int = 1,
    ) -> Running:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        cmd = [
            sys.executable, "-m", "modelpack", "server",
            "--backend-store-uri", str(store or tmp_path / "store"),
            "--artifacts-destination", str(artifacts or tmp_path / "artifacts"),
            "--port", str(port), "--workers", str(workers),
        ]  # fmt: skip
        if token_file is not None:
            cmd += ["--auth-token-file", str(token_file)]
        with open(log, "wb") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        running = Running(f"http://127.0.0.1:{port}", log, process)
        started.append(running)
        _wait(running.url, running)
        return running

    yield start
    for running in started:
        running.process.terminate()
        try:
            running.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()


@pytest.fixture
def server(start_server: Callable[..., Running]) -> Running:
    return start_server()


def env_without_store() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MODELPACK_", "MLFLOW_"))}
