"""Shared, session-scoped material for packaging tests: one model, one wheel cache, one bundle.

Packing downloads wheels once per test session into a cache (``MODELPACK_TEST_WHEEL_CACHE``
to keep it across sessions); every later pack in the session reuses those files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from modelpack.pack._venv import find_uv


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("MODELPACK_TEST_WHEEL_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("wheel-cache")


@pytest.fixture(scope="session")
def packable_model(tmp_path_factory: pytest.TempPathFactory, taxi: Any, taxi_dv_lr: Any) -> Path:
    import modelpack

    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    path = tmp_path_factory.mktemp("models") / "taxi"
    modelpack.save_model(lr, path, preprocessor=dv, input_example=frame.head(3))
    return path


@pytest.fixture(scope="session")
def bundle_archive(
    tmp_path_factory: pytest.TempPathFactory, packable_model: Path, wheel_cache: Path
) -> Path:
    from modelpack.pack._bundle import PackOptions, pack

    out = tmp_path_factory.mktemp("bundles") / "taxi-1.tar.gz"
    return pack(packable_model, out, PackOptions(cache_dir=str(wheel_cache)))


@pytest.fixture
def fresh_copy(tmp_path: Path, bundle_archive: Path) -> Path:
    """A private copy of the session's archive, free to tamper with."""
    return Path(shutil.copy2(bundle_archive, tmp_path / bundle_archive.name))


# ---------------------------------------------------------------- servers and offline installs
_CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_network_env(*, with_uv: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        http_proxy=_CLOSED,
        https_proxy=_CLOSED,
        HTTP_PROXY=_CLOSED,
        HTTPS_PROXY=_CLOSED,
        ALL_PROXY=_CLOSED,
        PYTHON=sys.executable,
    )
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    uv = find_uv()
    if with_uv and uv:
        path.insert(0, str(Path(uv).parent))
    else:
        path = [p for p in path if not (Path(p) / "uv").exists()]
    env["PATH"] = os.pathsep.join(path)
    return env


def wait_ready(url: str, proc: subprocess.Popen[Any], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer /ping within {timeout} s")


def post_json(url: str, body: Any) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def http() -> SimpleNamespace:
    """Helpers to run entry scripts offline and talk to the server they start."""
    return SimpleNamespace(
        free_port=free_port,
        no_network_env=no_network_env,
        wait_ready=wait_ready,
        post_json=post_json,
        stop=stop,
    )
