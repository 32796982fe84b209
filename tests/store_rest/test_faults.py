"""The REST store's unhappy paths, against small local HTTP servers (no MLflow needed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from _services import free_port

from modelpack._store import close_stores, get_store, set_store_uri
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError


class _Flaky(BaseHTTPRequestHandler):
    """503 for the first ``fail`` requests, then MLflow-shaped answers."""

    fail = 2
    seen: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization") or "")
        if type(self).fail > 0:
            type(self).fail -= 1
            return self._answer(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})
        if "experiments/get" in self.path and "experiment_id=404" in self.path:
            return self._answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "none"})
        if "experiments/get" in self.path:
            exp = {"experiment_id": "7", "name": "x", "lifecycle_stage": "active"}
            return self._answer(200, {"experiment": exp})
        return self._answer(404, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(400, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": "taken"})


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Flaky.fail, _Flaky.seen = 2, []
    url = f"http://127.0.0.1:{port}"
    set_store_uri(url)
    yield url
    set_store_uri(None)
    close_stores()
    httpd.shutdown()
    httpd.server_close()


def test_503_is_retried_then_succeeds(flaky: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPACK_TRACKING_TOKEN", "s3cret")
    assert get_store().get_experiment("7").name == "x"
    assert _Flaky.seen == ["Bearer s3cret"] * 3


def test_error_codes_map_to_kinds(flaky: str) -> None:
    _Flaky.fail = 0
    with pytest.raises(ModelNotFoundError):
        get_store().get_experiment("404")
    with pytest.raises(ModelExistsError):
        get_store().create_experiment("x")


def test_server_down_is_one_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    set_store_uri(url)
    try:
        with pytest.raises(StoreError, match="cannot reach the tracking server at " + url):
            get_store().get_experiment("1")
    finally:
        set_store_uri(None)
        close_stores()


def test_malformed_uri() -> None:
    with pytest.raises(StoreError, match="http://host:port"):
        set_store_uri("http://")
