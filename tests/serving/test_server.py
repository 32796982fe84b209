"""``modelpack serve`` for real: a subprocess on a free port on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import json
import re
import select
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ._helpers import Server, free_port, request, start_server, wait_ready

ROW = {"PU_DO": "43_151", "trip_distance": 1.8}


def predict(model: Any, rows: list[dict[str, Any]]) -> list[float]:
    return [float(v) for v in model.predict(rows)]


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


# ------------------------------------------------------------------------- MLflow protocol
def test_health_and_version(taxi_server: Server) -> None:
    from modelpack import __version__

    assert taxi_server.get("/ping").status == 200
    assert taxi_server.get("/health").status == 200
    assert taxi_server.get("/version").body.decode() == __version__


@pytest.mark.parametrize(
    "doc",
    [
        {"dataframe_records": [ROW]},
        {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}},
        {"instances": [ROW]},
        {"inputs": {k: [v] for k, v in ROW.items()}},
    ],
    ids=["dataframe_records", "dataframe_split", "instances", "inputs"],
)
def test_invocations(taxi_server: Server, taxi_model: Any, doc: Any) -> None:
    resp = taxi_server.post("/invocations", doc)
    assert resp.status == 200, resp.body
    assert resp.json() == {"predictions": pytest.approx(predict(taxi_model, [ROW]))}


def test_csv(taxi_server: Server, taxi_model: Any) -> None:
    rows = [ROW, {"PU_DO": "7_9", "trip_distance": 3.5}]
    csv = "PU_DO,trip_distance\n43_151,1.8\n7_9,3.5\n"
    resp = taxi_server.post("/invocations", csv, content_type="text/csv")
    assert resp.status == 200, resp.body
    assert resp.json()["predictions"] == pytest.approx(predict(taxi_model, rows))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "text"),
    [
        ("{not json", "application/json", 400, "not valid JSON"),
        ({"dataframe_records": [ROW], "inputs": {}}, "application/json", 400, "several"),
        ({"records": [ROW]}, "application/json", 400, "unknown key(s) 'records'"),
        ({"dataframe_records": [{"PU_DO": "1_2"}]}, "application/json", 400, "'trip_distance'"),
        (
            {"dataframe_records": [{"PU_DO": 7, "trip_distance": 1.0}]},
            "application/json",
            400,
            "column 'PU_DO' expects string",
        ),
        ("PU_DO,trip_distance\n", "text/csv", 400, "no rows"),
        ("a=1", "application/x-www-form-urlencoded", 415, "send application/json"),
    ],
    ids=["malformed", "two_keys", "unknown_key", "missing_column", "mistyped", "empty_csv", "form"],
)
def test_errors(taxi_server: Server, body: Any, content_type: str, status: int, text: str) -> None:
    resp = taxi_server.post("/invocations", body, content_type=content_type)
    assert resp.status == status
    doc = resp.json()
    assert set(doc) == {"error_code", "message"}
    assert text in doc["message"]


# -------------------------------------------------------------------------- body limit
def _read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_declared_body_over_the_limit_is_refused_before_it_is_sent(taxi_server: Server) -> None:
    with socket.create_connection(("127.0.0.1", taxi_server.port), timeout=20) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n"  # 100 MiB announced, none of it sent
        )
        assert _read_status(sock) == 413


def test_streamed_body_over_the_limit_is_refused_while_streaming(taxi_server: Server) -> None:
    """A chunked body with no end: the server answers 413 once 0.25 MiB have arrived."""
    chunk = b'{"pad": "' + b"x" * 65536
    with socket.create_connection(("127.0.0.1", taxi_server.port), timeout=20) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(8):  # 0.5 MiB at most; the final zero-length chunk is never sent
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if select.select([sock], [], [], 0.2)[0]:  # answered: stop sending
                break
        assert _read_status(sock) == 413
    assert taxi_server.get("/ping").status == 200


# -------------------------------------------------------------------------- V2 protocol
def test_v2(taxi_server: Server, taxi_model: Any) -> None:
    assert taxi_server.get("/v2/health/live").status == 200
    assert taxi_server.get("/v2/health/ready").status == 200
    assert taxi_server.get("/v2/models/taxi/ready").status == 200
    meta = taxi_server.get("/v2/models/taxi").json()
    assert [i["name"] for i in meta["inputs"]] == ["PU_DO", "trip_distance"]
    doc = {
        "inputs": [
            {"name": "PU_DO", "shape": [1], "datatype": "BYTES", "data": [ROW["PU_DO"]]},
            {
                "name": "trip_distance",
                "shape": [1],
                "datatype": "FP64",
                "data": [ROW["trip_distance"]],
            },
        ]
    }
    resp = taxi_server.post("/v2/models/taxi/infer", doc)
    assert resp.status == 200, resp.body
    assert resp.json()["outputs"][0]["data"] == pytest.approx(predict(taxi_model, [ROW]))
    wrong = taxi_server.post("/v2/models/nope/infer", doc)
    assert wrong.status == 404
    assert "error" in wrong.json()


# ----------------------------------------------------------------------------- batching
def test_concurrent_requests_each_get_their_own_predictions(
    taxi_server: Server, taxi_model: Any
) -> None:
    """Requests with distinct rows fired at once are batched, and nobody gets another's rows."""
    before = taxi_server.get("/metrics").body.decode()
    zones = ["43_151", "1_2", "7_9", "161_236", "132_265"]
    requests = [
        [{"PU_DO": zones[i % 5], "trip_distance": round(0.5 + i * 0.37, 2)}] * (1 + i % 3)
        for i in range(24)
    ]
    results: list[Any] = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def fire(i: int) -> None:
        start.wait()
        results[i] = taxi_server.post("/invocations", {"dataframe_records": requests[i]})

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for rows, resp in zip(requests, results):
        assert resp.status == 200, resp.body
        assert resp.json()["predictions"] == pytest.approx(predict(taxi_model, rows))
    after = taxi_server.get("/metrics").body.decode()
    calls = metric(after, "modelpack_batch_requests_count") - metric(
        before, "modelpack_batch_requests_count"
    )
    served = metric(after, "modelpack_batch_requests_sum") - metric(
        before, "modelpack_batch_requests_sum"
    )
    assert served == len(requests)
    assert calls < len(requests)  # some predict calls served several requests


# -------------------------------------------------------------------- metrics and logs
def test_metrics_and_access_log(taxi_server: Server) -> None:
    taxi_server.get("/ping")
    # a request of its own, so the test does not lean on the ones before it in the module
    assert taxi_server.post("/invocations", {"dataframe_records": [ROW]}).status == 200
    text = taxi_server.get("/metrics").body.decode()
    assert re.search(r'modelpack_requests_total\{endpoint="/ping",status="200"\} \d+', text)
    assert 'modelpack_request_duration_seconds_bucket{endpoint="/invocations",le="+Inf"}' in text
    assert "# TYPE modelpack_batch_requests histogram" in text
    lines = [json.loads(line) for line in taxi_server.log().splitlines() if line.startswith("{")]
    pings = [entry for entry in lines if entry["path"] == "/ping"]
    assert pings and pings[-1]["status"] == 200 and pings[-1]["method"] == "GET"
    assert {"time", "duration_ms", "bytes", "client"} <= set(pings[-1])


def test_the_server_survived_every_bad_request(taxi_server: Server) -> None:
    assert taxi_server.proc.poll() is None
    assert "Traceback" not in taxi_server.log()


# ------------------------------------------------------------------- model errors, workers
@pytest.fixture(scope="module")
def custom_server(tmp_path_factory: pytest.TempPathFactory, custom_model_dir: Path) -> Any:
    """The custom model with two workers, started while we watch /ping."""
    log = tmp_path_factory.mktemp("serving-log") / "custom-server.log"
    port = free_port()
    answers: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # what a load balancer's health check sees during start-up
        while not stop.is_set():
            try:
                status = request(port, "GET", "/ping", timeout=5).status
                answers.append(status)
                if status == 200:
                    log_text = log.read_text()
                    answers.append(log_text.count("loaded the model"))
                    return
            except OSError:
                time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    server = start_server(custom_model_dir, log, "--workers", "2", port=port, wait=False)
    wait_ready(server)
    watcher.join(30)
    stop.set()
    yield server, answers
    server.stop()


def test_two_workers_are_ready_only_once_both_have_loaded(custom_server: Any) -> None:
    server, answers = custom_server
    assert answers == [200, 2]  # the first answer was 200, and both workers had loaded by then
    assert "ready: serving" in server.log()


def test_model_exception_is_a_500_without_traceback(custom_server: Any) -> None:
    server, _ = custom_server
    resp = server.post("/invocations", {"inputs": {"x": [1.0, -1.0]}})
    assert resp.status == 500
    body = resp.json()
    assert body["error_code"] == "MODEL_ERROR"
    assert body["message"] == "the model raised ValueError: cannot double -1 (a deliberate failure)"
    assert "Traceback" not in resp.body.decode()
    ok = server.post("/invocations", {"inputs": {"x": [1.5, 4.0]}})
    assert ok.json() == {"predictions": [3.0, 8.0]}


def test_a_dead_worker_is_replaced(custom_server: Any) -> None:
    server, _ = custom_server
    pids = [int(p) for p in re.findall(r"worker \d \(pid (\d+)\) loaded", server.log())]
    assert len(pids) == 2
    import os

    os.kill(pids[0], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while "starting a new one" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(20):  # every answer comes from a worker with the model
        assert server.post("/invocations", {"inputs": {"x": [2.0]}}).json() == {
            "predictions": [4.0]
        }
    assert server.proc.poll() is None


def test_metrics_add_up_across_workers(custom_server: Any) -> None:
    server, _ = custom_server
    for _ in range(30):
        server.post("/invocations", {"inputs": {"x": [1.0]}})
    time.sleep(1.2)  # each worker shares its counts every half second
    total = 0.0
    for line in server.get("/metrics").body.decode().splitlines():
        if line.startswith('modelpack_requests_total{endpoint="/invocations",status="200"}'):
            total = float(line.split()[-1])
    assert total >= 30


def test_graceful_stop(tmp_path: Path, taxi_dir: Path) -> None:
    server = start_server(taxi_dir, tmp_path / "log", "--workers", "2", "--no-access-log")
    assert server.post("/invocations", {"dataframe_records": [ROW]}).status == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0
    assert not [line for line in server.log().splitlines() if line.startswith("{")]  # no access log


# --------------------------------------------------------------------------------- CLI
def test_busy_port_fails_fast(tmp_path: Path, taxi_dir: Path) -> None:
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "modelpack", "serve", str(taxi_dir), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_options(taxi_dir: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "modelpack", "serve", str(taxi_dir), "--workers", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--workers" in out.stderr


def test_serves_a_registered_model_by_alias(
    tmp_path: Path, taxi_dir: Path, taxi_model: Any
) -> None:
    """The command from the docs: models:/<name>@<alias>, answered under the registered name."""
    import modelpack

    version = modelpack.register_model(taxi_dir, "nyc-taxi-regressor")
    modelpack.set_alias("nyc-taxi-regressor", "champion", version.version)
    server = start_server(
        "models:/nyc-taxi-regressor@champion", tmp_path / "log", "--no-access-log"
    )
    try:
        resp = server.post("/invocations", {"dataframe_records": [ROW]})
        assert resp.json() == {"predictions": pytest.approx(predict(taxi_model, [ROW]))}
        assert server.get("/v2/models/nyc-taxi-regressor").json()["name"] == "nyc-taxi-regressor"
    finally:
        server.stop()
