"""Malformed and hostile requests over real HTTP: 4xx JSON in MLflow's format, never a 500."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.server.conftest import Running, call

API = "/api/2.0/mlflow"
SQLISH = "x' OR '1'='1'; DROP TABLE runs; --"


def _is_error(status: int, body: dict[str, object], expected: int, code: str) -> None:
    assert (status, body.get("error_code")) == (expected, code), body
    assert isinstance(body.get("message"), str) and "Traceback" not in str(body["message"])


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"name": {"a": 1}}'],
    ids=["broken", "not-an-object", "not-utf8", "wrong-type"],
)
def test_bad_json_is_a_400(server: Running, raw: bytes) -> None:
    status, body = call(f"{server.url}{API}/experiments/create", "POST", raw=raw)
    assert status == 400, body
    assert body["error_code"] in ("MALFORMED_REQUEST", "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/runs/get?run_id=0123456789abcdef", None),
        ("POST", "/runs/log-batch", {"run_id": "nope", "params": [{"key": "a", "value": "1"}]}),
        ("GET", "/registered-models/get?name=absent", None),
        ("GET", "/model-versions/get?name=absent&version=1", None),
        ("GET", "/logged-models/m-00000000000000000000000000000000", None),
    ],
    ids=["run", "log-batch", "registered-model", "version", "logged-model"],
)
def test_unknown_ids_are_404(server: Running, method: str, path: str, body: object) -> None:
    status, answer = call(f"{server.url}{API}{path}", method, body)
    _is_error(status, answer, 404, "RESOURCE_DOES_NOT_EXIST")


def test_missing_argument_and_unknown_endpoint(server: Running) -> None:
    status, body = call(f"{server.url}{API}/runs/get")
    _is_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    status, body = call(f"{server.url}{API}/no-such-thing")
    _is_error(status, body, 404, "ENDPOINT_NOT_FOUND")
    status, body = call(f"{server.url}{API}/model-versions/get?name=a&version=one")
    _is_error(status, body, 400, "INVALID_PARAMETER_VALUE")


def test_sql_like_text_is_stored_and_matched_literally(server: Running) -> None:
    status, body = call(f"{server.url}{API}/experiments/create", "POST", {"name": SQLISH})
    assert status == 200, body
    exp_id = body["experiment_id"]
    status, body = call(f"{server.url}{API}/runs/create", "POST", {"experiment_id": exp_id})
    run_id = body["run"]["info"]["run_id"]
    call(
        f"{server.url}{API}/runs/log-parameter",
        "POST",
        {"run_id": run_id, "key": "p", "value": SQLISH},
    )
    # a filter that is SQL, not the filter language: refused with a 400
    status, body = call(
        f"{server.url}{API}/runs/search",
        "POST",
        {"experiment_ids": [exp_id], "filter": "params.p = 'a' OR 1=1; DROP TABLE runs"},
    )
    _is_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    # the same text as a quoted value: matched literally, finding exactly the run
    quoted = SQLISH.replace("'", "\\'")
    status, body = call(
        f"{server.url}{API}/runs/search",
        "POST",
        {"experiment_ids": [exp_id], "filter": f"params.p = '{quoted}'"},
    )
    if status == 200:
        assert [r["info"]["run_id"] for r in body["runs"]] == [run_id]
    else:  # a filter language without escapes refuses it, with a 400
        _is_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    status, body = call(f"{server.url}{API}/experiments/get-by-name?experiment_name=" + _q(SQLISH))
    assert status == 200 and body["experiment"]["name"] == SQLISH
    # registered model names too
    status, body = call(f"{server.url}{API}/registered-models/create", "POST", {"name": SQLISH})
    assert status == 200, body
    status, body = call(f"{server.url}{API}/registered-models/get?name=" + _q(SQLISH))
    assert status == 200 and body["registered_model"]["name"] == SQLISH
    status, body = call(
        f"{server.url}{API}/registered-models/search?filter=" + _q("name = 'a' OR 1=1")
    )
    _is_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    # the store is intact
    status, body = call(f"{server.url}{API}/runs/get?run_id={run_id}")
    assert status == 200 and body["run"]["data"]["params"] == [{"key": "p", "value": SQLISH}]


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_artifact_paths_cannot_leave_the_destination(server: Running, tmp_path: Path) -> None:
    url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts"
    status, body = call(f"{url}/1/%2e%2e/%2e%2e/escape.txt", "PUT", raw=b"x")
    _is_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    assert not list(tmp_path.rglob("escape.txt"))
    status, body = call(f"{url}/.modelpack/logged-models/x.json", "PUT", raw=b"x")
    _is_error(status, body, 403, "PERMISSION_DENIED")
    status, body = call(f"{url}/1/absent.txt")
    _is_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST")
    assert call(f"{url}/1/a/b.txt", "PUT", raw=b"hello")[0] == 200
    assert call(f"{url}?path=1/a") == (
        200,
        {"files": [{"path": "b.txt", "is_dir": False, "file_size": 5}]},
    )


def test_a_body_over_the_limit_is_413(server: Running) -> None:
    host, port = server.url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST {API}/experiments/create HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {17 * 1024 * 1024}\r\nContent-Type: application/json\r\n\r\n".encode()
        )
        answer = ""
        while not answer.endswith("}"):
            chunk = sock.recv(65536).decode("latin-1")
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413"), answer
    assert json.loads(body)["error_code"] == "RESOURCE_EXHAUSTED"


def test_no_traceback_reaches_the_log_for_client_mistakes(server: Running) -> None:
    test_missing_argument_and_unknown_endpoint(server)
    assert "Traceback" not in server.log.read_text()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text("# team tokens\nwrite-secret\nro:read-secret\n", encoding="utf-8")
    return path


def test_tokens(start_server: Callable[..., Running], token_file: Path) -> None:
    running = start_server(token_file=token_file)
    create = f"{running.url}{API}/experiments/create"
    status, body = call(create, "POST", {"name": "e"})
    _is_error(status, body, 401, "UNAUTHENTICATED")
    status, body = call(create, "POST", {"name": "e"}, token="wrong")
    _is_error(status, body, 401, "UNAUTHENTICATED")
    status, body = call(create, "POST", {"name": "e"}, token="read-secret")
    _is_error(status, body, 403, "PERMISSION_DENIED")
    status, body = call(create, "POST", {"name": "e"}, token="write-secret")
    assert status == 200, body
    for token in ("read-secret", "write-secret"):
        status, body = call(f"{running.url}{API}/experiments/get?experiment_id=0", token=token)
        assert status == 200, body
        status, body = call(
            f"{running.url}{API}/runs/search", "POST", {"experiment_ids": ["0"]}, token=token
        )
        assert status == 200, body
    status, body = call(
        f"{running.url}/api/2.0/mlflow-artifacts/artifacts/x.txt",
        "PUT",
        raw=b"x",
        token="read-secret",
    )
    _is_error(status, body, 403, "PERMISSION_DENIED")
    assert call(f"{running.url}/health")[0] == 200
