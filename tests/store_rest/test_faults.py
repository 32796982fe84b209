"""The REST store's unhappy paths, against small local HTTP servers (no MLflow needed)."""

from __future__ import annotations

import json
import threading
import time
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


class _Scripted(BaseHTTPRequestHandler):
    """Answers from ``script`` in order (status, headers), then 200 with an experiment."""

    script: list[tuple[int, dict[str, str]]] = []
    seen: list[tuple[str, float]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((f"{self.command} {self.path.split('?')[0]}", time.monotonic()))
        status, headers = type(self).script.pop(0) if type(self).script else (200, {})
        body = {"experiment": {"experiment_id": "7", "name": "x", "lifecycle_stage": "active"}}
        if status != 200:
            body = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply


def _serve(port: int) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _Scripted)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def scripted() -> Iterator[str]:
    _Scripted.script, _Scripted.seen = [], []
    port = free_port()
    httpd = _serve(port)
    url = f"http://127.0.0.1:{port}"
    set_store_uri(url)
    yield url
    set_store_uri(None)
    close_stores()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_for_reads(scripted: str, status: int) -> None:
    _Scripted.script = [(status, {}), (status, {})]
    assert get_store().get_experiment("7").name == "x"
    assert len(_Scripted.seen) == 3


def test_retry_after_is_honoured(scripted: str) -> None:
    _Scripted.script = [(503, {"Retry-After": "1"})]
    get_store().get_experiment("7")
    (_, first), (_, second) = _Scripted.seen
    assert second - first >= 0.9


def test_safe_posts_are_retried_and_creations_are_not(scripted: str) -> None:
    _Scripted.script = [(503, {})]
    get_store().update_run_info("r1", status="FINISHED", end_time=1)  # same result when repeated
    assert [s for s, _ in _Scripted.seen] == ["POST /api/2.0/mlflow/runs/update"] * 2
    _Scripted.seen.clear()
    _Scripted.script = [(503, {})]
    with pytest.raises(StoreError, match="busy"):
        get_store().create_experiment("y")  # a repeat could create two
    assert [s for s, _ in _Scripted.seen] == ["POST /api/2.0/mlflow/experiments/create"]


def test_a_server_coming_up_late_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelpack._store import _rest_http

    monkeypatch.setattr(_rest_http, "_BACKOFF", 0.3)  # about 9 s of tries in all
    _Scripted.script, _Scripted.seen = [], []
    port = free_port()
    started: list[ThreadingHTTPServer] = []
    timer = threading.Timer(1.0, lambda: started.append(_serve(port)))
    timer.start()
    set_store_uri(f"http://127.0.0.1:{port}")
    try:
        assert get_store().get_experiment("7").name == "x"
    finally:
        timer.join()
        set_store_uri(None)
        close_stores()
        for httpd in started:
            httpd.shutdown()
            httpd.server_close()


def test_retry_after_as_an_http_date(scripted: str) -> None:
    from email.utils import formatdate

    _Scripted.script = [(503, {"Retry-After": formatdate(time.time() + 2, usegmt=True)})]
    get_store().get_experiment("7")
    (_, first), (_, second) = _Scripted.seen
    assert second - first >= 0.5
