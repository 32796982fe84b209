"""The same pages at ``/`` of ``modelpack server``, behind the server's tokens."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._services import free_port, wait_for_port


@pytest.fixture(scope="module")
def team_server(ui_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("team")
    tokens = folder / "tokens"
    tokens.write_text("team-write\nro:team-read\n")
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "modelpack", "server",
                "--backend-store-uri", str(ui_store),
                "--artifacts-destination", str(folder / "artifacts"),
                "--port", str(port), "--auth-token-file", str(tokens),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MODELPACK_STORE_URI": str(ui_store)},
        )  # fmt: skip
    wait_for_port(port, timeout=60, proc=process)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def _get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["content-type"], e.read()


def test_the_server_serves_the_ui_at_its_root(team_server: str) -> None:
    status, kind, body = _get(team_server + "/")
    assert status == 200 and kind.startswith("text/html") and b"modelpack" in body
    assert _get(team_server + "/ui/static/common.js")[0] == 200


def test_the_ui_data_needs_the_servers_token(team_server: str) -> None:
    assert _get(team_server + "/ui/api/runs")[0] == 401
    assert _get(team_server + "/ui/api/runs", "team-read")[0] == 200
    assert _get(team_server + "/ui/api/models", "team-write")[0] == 200


def test_the_rest_api_keeps_its_paths_and_errors(team_server: str) -> None:
    status, kind, _ = _get(team_server + "/api/2.0/mlflow/experiments/search?max_results=5")
    assert status == 401 and "json" in kind
    status, _, body = _get(
        team_server + "/api/2.0/mlflow/experiments/search?max_results=5", "team-read"
    )
    assert status == 200 and b"ui-test" in body
    status, _, body = _get(team_server + "/api/2.0/mlflow/no-such-thing", "team-read")
    assert status == 404 and b"ENDPOINT_NOT_FOUND" in body
