"""Several models in one ``modelpack serve``: names, the V2 repository extension, memory.

Every server here is a real subprocess; every answer is compared with the model's own
in-process ``predict``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ._helpers import Server, free_port, save_numeric_model, save_tensor_model, wait_ready

TAXI_ROW = {"PU_DO": "43_151", "trip_distance": 1.8}
NUM_ROWS = [{"a": 1.5, "b": 2}, {"a": -3.0, "b": 7}]
TENSOR = [[1.0, 2.0, 3.0], [0.5, 4.0, 6.0]]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, taxi_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("multi")
    repo = root / "repository"
    repo.mkdir()
    return {
        "taxi": taxi_dir,
        "num": save_numeric_model(root / "numeric-model"),
        "tensor": save_tensor_model(repo / "tensor"),
        "repository": repo,
        "spare": save_numeric_model(root / "spare-model"),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Path]) -> Iterator[Server]:
    """taxi and num from the command line (num by NAME=URI), tensor from the repository."""
    log = tmp_path_factory.mktemp("multi-log") / "server.log"
    server = start_server(
        models["taxi"],
        log,
        f"num={models['num']}",
        "--model-repository",
        str(models["repository"]),
    )
    yield server
    server.stop()


def start_server(model: Any, log_path: Path, *args: str) -> Server:
    """``modelpack serve`` with every model argument before the options."""
    models = [str(model), *(a for a in args if not a.startswith("--") and "=" in a)]
    options = [a for a in args if a not in models]
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelpack", "serve", *models, "--port", str(port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, port, log_path)
    wait_ready(server)
    return server


def in_process(path: Path, data: Any) -> list[float]:
    import modelpack

    return [float(v) for v in np.ravel(modelpack.load_model(path).predict(data))]


def test_each_model_answers_under_its_name_like_in_process(
    server: Server, models: dict[str, Path]
) -> None:
    taxi = server.post("/invocations/taxi-model", {"dataframe_records": [TAXI_ROW]})
    assert taxi.status == 200, taxi.body
    assert taxi.json()["predictions"] == pytest.approx(in_process(models["taxi"], [TAXI_ROW]))
    num = server.post("/invocations/num", {"dataframe_records": NUM_ROWS})
    assert num.status == 200, num.body
    import pandas as pd

    assert num.json()["predictions"] == pytest.approx(
        in_process(models["num"], pd.DataFrame(NUM_ROWS))
    )
    doc = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": TENSOR}]}
    v2 = server.post("/v2/models/tensor/infer", doc)
    assert v2.status == 200, v2.body
    assert v2.json()["model_name"] == "tensor"
    assert v2.json()["outputs"][0]["data"] == pytest.approx(
        in_process(models["tensor"], np.array(TENSOR))
    )
    assert server.get("/v2/models/num").json()["name"] == "num"
    assert server.get("/v2/models/taxi-model/ready").status == 200


def test_plain_invocations_with_several_models_names_them(server: Server) -> None:
    resp = server.post("/invocations", {"dataframe_records": [TAXI_ROW]})
    assert resp.status == 400
    message = resp.json()["message"]
    for name in ("num", "taxi-model", "tensor", "--default-model"):
        assert name in message


def test_unknown_model_is_404_naming_the_served_ones(server: Server) -> None:
    resp = server.post("/invocations/nope", {"dataframe_records": [TAXI_ROW]})
    assert resp.status == 404
    assert "'num', 'taxi-model', 'tensor'" in resp.json()["message"]
    assert server.get("/v2/models/nope/ready").status == 404


def test_repository_unload_and_load(server: Server, models: dict[str, Path]) -> None:
    index = server.post("/v2/repository/index", {}).json()
    assert {r["name"]: r["state"] for r in index} == {
        "num": "READY",
        "taxi-model": "READY",
        "tensor": "READY",
    }
    assert server.post("/v2/repository/models/num/unload", {}).status == 200
    gone = server.post("/invocations/num", {"dataframe_records": NUM_ROWS})
    assert gone.status == 404
    assert "/v2/repository/models/num/load" in gone.json()["message"]
    ready = server.get("/v2/models/num/ready")
    assert ready.status == 400
    assert ready.json()["ready"] is False
    rows = {r["name"]: r for r in server.post("/v2/repository/index", {}).json()}
    assert rows["num"]["state"] == "UNAVAILABLE"
    assert [r["name"] for r in server.post("/v2/repository/index", {"ready": True}).json()] == [
        "taxi-model",
        "tensor",
    ]
    # the other models never stopped answering
    assert server.post("/invocations/taxi-model", {"dataframe_records": [TAXI_ROW]}).status == 200
    assert server.post("/v2/repository/models/num/load", {}).status == 200
    back = server.post("/invocations/num", {"dataframe_records": NUM_ROWS})
    assert back.status == 200, back.body


def test_a_folder_added_to_the_repository_loads_by_name(
    server: Server, models: dict[str, Path]
) -> None:
    shutil.copytree(models["spare"], models["repository"] / "late")
    rows = {r["name"]: r for r in server.post("/v2/repository/index", {}).json()}
    assert rows["late"]["state"] == "UNAVAILABLE"
    assert server.post("/invocations/late", {"dataframe_records": NUM_ROWS}).status == 404
    assert server.post("/v2/repository/models/late/load", {}).status == 200
    resp = server.post("/invocations/late", {"dataframe_records": NUM_ROWS})
    assert resp.status == 200, resp.body
    assert server.post("/v2/repository/models/late/unload", {}).status == 200


def test_loading_an_unknown_or_broken_model_says_why(
    server: Server, models: dict[str, Path]
) -> None:
    resp = server.post("/v2/repository/models/absent/load", {})
    assert resp.status == 404
    assert "no folder 'absent'" in resp.json()["error"]
    broken = models["repository"] / "broken"
    shutil.copytree(models["spare"], broken)
    (broken / "MLmodel").write_text("flavors: [not, a, mapping\n")
    resp = server.post("/v2/repository/models/broken/load", {})
    assert resp.status == 400
    assert "could not be loaded" in resp.json()["error"]
    rows = {r["name"]: r for r in server.post("/v2/repository/index", {}).json()}
    assert rows["broken"]["state"] == "UNAVAILABLE"
    assert rows["broken"]["reason"]
    assert "could not load model 'broken'" in server.log()
    shutil.rmtree(broken)


def test_metrics_report_memory_per_model(server: Server) -> None:
    # a request of its own, so the test does not lean on the ones before it in the module
    assert server.post("/invocations/num", {"dataframe_records": NUM_ROWS}).status == 200
    text = server.get("/metrics").body.decode()
    pattern = r'^modelpack_model_memory_bytes\{model="([^"]+)",.*\} (\d+)$'
    sizes = dict(re.findall(pattern, text, re.M))
    assert {"num", "taxi-model", "tensor"} <= set(sizes)
    assert all(int(v) >= 0 for v in sizes.values())
    assert 'modelpack_model_workers{model="tensor",version=""} 1' in text
    assert 'endpoint="/invocations/num",status="200"' in text


def test_default_model_and_two_workers(tmp_path: Path, models: dict[str, Path]) -> None:
    server = start_server(
        f"taxi={models['taxi']}",
        tmp_path / "log",
        f"num={models['num']}",
        "--default-model",
        "num",
        "--workers",
        "2",
    )
    try:
        import pandas as pd

        want = in_process(models["num"], pd.DataFrame(NUM_ROWS))
        for _ in range(4):  # connections go to both workers in turn
            resp = server.post("/invocations", {"dataframe_records": NUM_ROWS})
            assert resp.status == 200, resp.body
            assert resp.json()["predictions"] == pytest.approx(want)
            taxi = server.post("/invocations/taxi", {"dataframe_records": [TAXI_ROW]})
            assert taxi.status == 200, taxi.body
        # an unload or load answered by one worker reaches the other within half a second
        assert server.post("/v2/repository/models/taxi/unload", {}).status == 200
        assert answers_settle(server, "/invocations/taxi", 404)
        assert server.post("/v2/repository/models/taxi/load", {}).status == 200
        assert answers_settle(server, "/invocations/taxi", 200)
    finally:
        server.stop()


def answers_settle(server: Server, path: str, status: int, timeout: float = 30) -> bool:
    """True once 4 requests in a row (on fresh connections: both workers) answer ``status``."""
    deadline, run = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and run < 4:
        got = server.post(path, {"dataframe_records": [TAXI_ROW]}).status
        run = run + 1 if got == status else 0
        time.sleep(0.05)
    return run >= 4


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["a=PATH", "a=PATH"], "two models are named 'a'"),
        (["PATH", "--default-model", "zzz"], "--default-model 'zzz' is none of the models"),
        (["a=PATH", "b=PATH", "--name", "c"], "--name names the only model"),
        ([], "give a model URI"),
    ],
    ids=["same-name", "unknown-default", "name-with-several", "nothing"],
)
def test_bad_model_lists_fail_before_loading(
    models: dict[str, Path], args: list[str], text: str
) -> None:
    argv = [a.replace("PATH", str(models["num"])) for a in args]
    out = subprocess.run(
        [sys.executable, "-m", "modelpack", "serve", *argv, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert text in out.stderr
