"""HTTP-level limits of ``modelpack serve``, over raw sockets (issue 13, 5 and 9).

Malformed requests are answered in JSON (MLflow's error format), a huge header is refused with
431 without stalling other clients, an idle connection is closed, and a request that arrives
too slowly (slowloris, in its head or its body) gets 408 and a closed connection. The server
runs with short timeouts (keep-alive 1 s, request 2 s) set through the environment.

Nothing here asserts a duration: each test waits for the outcome with a generous socket
timeout, and a server that never closes fails it by that timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from serving._helpers import (
    Server,
    exchange,
    parse_response,
    request,
    save_numeric_model,
    start_server,
)

ENV = {
    "MODELPACK_SERVE_KEEP_ALIVE_TIMEOUT": "1",
    "MODELPACK_SERVE_REQUEST_TIMEOUT": "2",
    "MODELPACK_SERVE_MAX_HEADER_KB": "16",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("serving-http")
    model = save_numeric_model(work / "numeric")
    srv = start_server(model, work / "server.log", "--name", "num", env=ENV)
    yield srv
    srv.stop()
    assert "Traceback" not in srv.log()


def json_error(raw: bytes, status: int) -> dict[str, Any]:
    resp = parse_response(raw)
    assert resp.status == status, raw[:500]
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["connection"] == "close"
    doc = resp.json()
    assert set(doc) == {"error_code", "message"}
    return doc  # type: ignore[no-any-return]


# ----------------------------------------------------------------------- malformed requests
MALFORMED = {
    "garbage": b"HELLO WORLD\r\n\r\n",
    "bad_method": b"G(T /ping HTTP/1.1\r\nHost: x\r\n\r\n",
    "header_without_colon": b"GET /ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    "space_in_header_name": b"GET /ping HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
    "control_char_in_path": b"GET /pi\x01ng HTTP/1.1\r\nHost: x\r\n\r\n",
    "non_ascii_path": b"GET /p\xffing HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad_content_length": b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "two_content_lengths": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    ),
    "bad_chunk_size": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ),
    "http_2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_requests_get_a_json_400(server: Server, case: str) -> None:
    doc = json_error(exchange(server.port, MALFORMED[case]), 400)
    assert doc["error_code"] == "BAD_REQUEST"
    assert doc["message"].startswith("malformed HTTP request: ")


# ------------------------------------------------------------------------------- header cap
def send_huge_header(sock: Any, mib: int = 128) -> None:
    sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ")
    chunk = b"a" * (1 << 20)
    for _ in range(mib):
        sock.sendall(chunk)  # the server closes after its 431: this raises, exchange goes on


def test_a_128_mib_header_is_refused_with_431(server: Server) -> None:
    doc = json_error(exchange(server.port, send_huge_header), 431)
    assert doc["error_code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert "16 KiB" in doc["message"] and "--max-header-kb" in doc["message"]


def test_many_headers_adding_up_past_the_cap_are_refused(server: Server) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400))  # ~40 KB
    raw = exchange(server.port, b"GET /ping HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    json_error(raw, 431)


def test_headers_under_the_cap_and_a_large_body_are_fine(server: Server) -> None:
    rows = [{"a": 1.0, "b": 1}] * 20_000  # a ~400 KB body right behind small headers
    resp = request(server.port, "POST", "/invocations", {"dataframe_records": rows})
    assert resp.status == 200
    assert len(resp.json()["predictions"]) == 20_000


def test_a_huge_header_does_not_stall_other_clients(server: Server) -> None:
    answers: list[int] = []
    errors: list[BaseException] = []

    def attack() -> None:
        try:
            for _ in range(5):
                exchange(server.port, send_huge_header)
        except BaseException as e:  # reported below
            errors.append(e)

    attacker = threading.Thread(target=attack)
    attacker.start()
    while attacker.is_alive() and len(answers) < 200:
        answers.append(request(server.port, "GET", "/ping", timeout=30).status)
    attacker.join(120)
    assert not errors
    assert answers and set(answers) == {200}


# ---------------------------------------------------------------------------------- timeouts
def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    assert exchange(server.port, b"", timeout=60) == b""  # closed by the server, no answer


def test_an_idle_keep_alive_connection_is_closed(server: Server) -> None:
    raw = exchange(server.port, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", timeout=60)
    assert parse_response(raw).status == 200  # answered, then closed once idle


def trickle(data: bytes, pause: float = 0.25) -> Any:
    def send(sock: Any) -> None:
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
            time.sleep(pause)

    return send


def test_a_slowloris_head_gets_408_and_is_closed(server: Server) -> None:
    head = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    doc = json_error(exchange(server.port, trickle(head)), 408)
    assert doc["error_code"] == "REQUEST_TIMEOUT"
    assert "--request-timeout" in doc["message"]


def test_a_slow_body_gets_408_and_is_logged_as_such(server: Server) -> None:
    head = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200\r\n\r\n"
    )

    def send(sock: Any) -> None:
        sock.sendall(head)
        trickle(b" " * 200)(sock)

    json_error(exchange(server.port, send), 408)
    deadline = time.monotonic() + 30
    while '"status":408' not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert '"status":408' in server.log()


def test_keep_alive_requests_and_pipelining_still_work(server: Server) -> None:
    ping = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    body = json.dumps({"inputs": {"a": [1.0], "b": [2]}}).encode()
    post = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    last = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = exchange(server.port, ping + post + ping + last)
    assert raw.count(b"HTTP/1.1 200 OK") == 4
    assert b'{"predictions":' in raw


def test_the_limits_hold_with_several_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    # connections reach the workers through the parent process: same protocol, same limits
    work = tmp_path_factory.mktemp("serving-http-workers")
    model = save_numeric_model(work / "numeric")
    srv = start_server(model, work / "server.log", "--workers", "2", env=ENV)
    try:
        for _ in range(2):  # one connection to each worker
            json_error(exchange(srv.port, send_huge_header), 431)
            json_error(exchange(srv.port, MALFORMED["garbage"]), 400)
            json_error(exchange(srv.port, trickle(b"GET /ping HTTP/1.1\r\nHost: x\r\n")), 408)
            assert exchange(srv.port, b"", timeout=60) == b""
        assert request(srv.port, "GET", "/ping").status == 200
    finally:
        srv.stop()
    assert "Traceback" not in srv.log()
