"""Registry-driven rollout: a server on ``models:/<name>@<alias>`` follows the alias.

Real ``modelpack serve`` subprocesses on a real store (SQLite, in the test's tmp_path); a client
loop keeps sending requests on keep-alive connections while the alias moves.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ._helpers import Server, free_port, wait_ready

INTERVAL = 0.5
ROWS = [{"a": 1.0, "b": 2}]
BODY = json.dumps({"dataframe_records": ROWS})


def save_version(path: Path, factor: float) -> Path:
    """A LinearRegression that predicts ``factor * (a + b)``, so versions answer apart."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelpack

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.5, 4.0, 0.5], "b": [1, 2, 3, 5, 8]})
    target = factor * (frame["a"] + frame["b"])
    modelpack.save_model(LinearRegression().fit(frame, target), path, input_example=frame.head(2))
    return path


def register(tmp_path: Path, factor: float) -> str:
    import modelpack

    version = modelpack.register_model(save_version(tmp_path / f"v-{factor:g}", factor), "m")
    return str(version.version)


def break_version(version: str) -> None:
    """Damage the stored model file of a registered version, as a bad upload would."""
    from modelpack._store import get_store

    location = Path(get_store().get_model_version("m", int(version)).storage_location)
    (location / "model.skops").write_bytes(b"not a model")


def start(uri: str, log_path: Path, *args: str) -> Server:
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelpack", "serve", uri, "--port", str(port),
             "--watch-interval", str(INTERVAL), "--no-access-log", *args],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(proc, port, log_path)
    wait_ready(server)
    return server


@dataclass
class Client:
    """Threads sending requests back to back on keep-alive connections, recording answers."""

    port: int
    answers: list[tuple[float, int, float | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        while not self.stop.is_set():
            try:
                conn.request("POST", "/invocations", BODY, headers)
                resp = conn.getresponse()
                body = resp.read()
            except OSError:
                self.answers.append((time.monotonic(), 0, None))  # refused or reset
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            value = json.loads(body)["predictions"][0] if resp.status == 200 else None
            self.answers.append((time.monotonic(), resp.status, value))
        conn.close()

    def __enter__(self) -> Client:
        for _ in range(3):
            thread = threading.Thread(target=self.run, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def first(self, value: float, since: float) -> float | None:
        for at, _, got in list(self.answers):
            if at >= since and got is not None and got == pytest.approx(value):
                return at
        return None

    def wait_for(self, value: float, since: float, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            at = self.first(value, since)
            if at is not None:
                return at - since
            time.sleep(0.05)
        raise AssertionError(f"no answer {value} within {timeout} s; last: {self.answers[-3:]}")


def wait_all_switched(server: Server, workers: int, timeout: float = 30) -> float:
    """When /metrics first shows every worker serving version 2."""
    line = f'modelpack_model_workers{{model="m",version="2"}} {workers}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in server.get("/metrics").body.decode():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"not every worker serves version 2 after {timeout} s:\n{server.log()}")


@pytest.fixture
def store_models(tmp_path: Path) -> Iterator[list[str]]:
    import modelpack

    versions = [register(tmp_path, 1.0), register(tmp_path, 2.0)]
    modelpack.set_alias("m", "prod", versions[0])
    yield versions


@pytest.mark.parametrize("workers", [1, 2], ids=["1-worker", "2-workers"])
def test_alias_move_under_load_drops_no_request(
    tmp_path: Path, store_models: list[str], workers: int
) -> None:
    import modelpack

    server = start("models:/m@prod", tmp_path / "log", "--workers", str(workers))
    try:
        assert server.get("/v2/models/m/ready").json()["version"] == "1"
        with Client(server.port) as client:
            client.wait_for(3.0, 0.0, 30)  # version 1: 1 * (1 + 2)
            moved = time.monotonic()
            modelpack.set_alias("m", "prod", store_models[1])
            # one interval to notice, plus the load (slow on a busy machine), plus slack
            delay = client.wait_for(6.0, moved, 30)
            switched = wait_all_switched(server, workers)
            time.sleep(1.0)  # requests keep coming, all on version 2 now
        statuses = {status for _, status, _ in client.answers}
        assert statuses == {200}, [a for a in client.answers if a[1] != 200][:5]
        after = [v for at, _, v in client.answers if at > switched]
        assert after and all(v == pytest.approx(6.0) for v in after)
        assert len(client.answers) > 50
        assert server.get("/v2/models/m/ready").json()["version"] == "2"
        assert server.get("/v2/models/m/versions/2").status == 200
        assert server.get("/v2/models/m/versions/1").status == 404
        text = server.get("/metrics").body.decode()
        assert f'modelpack_model_workers{{model="m",version="2"}} {workers}' in text
        assert "now serves version 2 (was 1" in server.log()
        print(f"switched {delay:.2f} s after the alias moved ({workers} worker(s))")
    finally:
        server.stop()


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    tmp_path: Path, store_models: list[str]
) -> None:
    import modelpack

    broken = register(tmp_path, 5.0)
    break_version(broken)
    server = start("models:/m@prod", tmp_path / "log")
    try:
        with Client(server.port) as client:
            client.wait_for(3.0, 0.0, 30)
            moved = time.monotonic()
            modelpack.set_alias("m", "prod", broken)
            deadline = time.monotonic() + 30
            while "failed to load" not in server.log() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2 * INTERVAL)
        assert {status for _, status, _ in client.answers} == {200}
        assert all(v == pytest.approx(3.0) for _, _, v in client.answers)
        assert [a for a in client.answers if a[0] > moved + 1]  # still answering
        ready = server.get("/v2/models/m/ready")
        assert ready.status == 200  # V2: still ready, on the old version
        body = ready.json()
        assert body["version"] == "1"
        assert body["last_load_error"]["version"] == broken
        assert body["last_load_error"]["error"]
        assert f"version {broken} of 'm' failed to load; still serving version 1" in server.log()
        text = server.get("/metrics").body.decode()
        assert re.search(r'^modelpack_model_load_failures_total\{model="m"\} [1-9]', text, re.M)
        # a good version after the broken one is taken as usual
        modelpack.set_alias("m", "prod", store_models[1])
        resp = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            resp = server.post("/invocations", json.loads(BODY))
            if resp.json()["predictions"][0] == pytest.approx(6.0):
                break
            time.sleep(0.1)
        assert resp is not None and resp.json()["predictions"][0] == pytest.approx(6.0)
        assert "last_load_error" not in server.get("/v2/models/m/ready").json()
    finally:
        server.stop()
