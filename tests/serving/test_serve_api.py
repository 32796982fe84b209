"""The Python serving API: ``modelpack.serving.serve`` and ``create_app`` with the powers of
``modelpack serve`` (several models by name, a model repository, a default model, gRPC).

``serve`` blocks, so it runs in a subprocess (``python -c``) on a free port; ``create_app`` is
called in-process. Every answer is compared with the model's own in-process ``predict``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ._helpers import (
    Server,
    call_asgi,
    free_port,
    save_numeric_model,
    save_tensor_model,
    wait_ready,
)

NUM_ROWS = [{"a": 1.5, "b": 2}, {"a": -3.0, "b": 7}]
TENSOR = [[1.0, 2.0, 3.0], [0.5, 4.0, 6.0]]
JSON = [(b"content-type", b"application/json")]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serve-api")
    repo = root / "repository"
    repo.mkdir()
    return {
        "num": save_numeric_model(root / "numeric-model"),
        "tensor": save_tensor_model(repo / "tensor"),
        "repository": repo,
    }


def in_process(path: Path, data: Any) -> list[float]:
    import modelpack

    return [float(v) for v in np.ravel(modelpack.load_model(path).predict(data))]


def start_api(log_path: Path, arguments: str) -> Server:
    """``serve(<arguments>, port=<free port>)`` in a fresh interpreter."""
    port = free_port()
    code = f"from modelpack.serving import serve\nserve({arguments}, port={port})\n"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, port, log_path)
    wait_ready(server)
    return server


@pytest.fixture(scope="module")
def grpc_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def several(
    tmp_path_factory: pytest.TempPathFactory, models: dict[str, Path], grpc_port: int
) -> Iterator[Server]:
    """Two models by name (num the default), the repository, and gRPC, from the Python API."""
    pytest.importorskip("grpc")
    log = tmp_path_factory.mktemp("serve-api-log") / "server.log"
    server = start_api(
        log,
        f"models={{'num': {str(models['num'])!r}}}, model_repository="
        f"{str(models['repository'])!r}, default_model='num', grpc_port={grpc_port}, "
        "access_log=False",
    )
    yield server
    server.stop()


def test_serve_several_models_by_name_with_a_default(
    several: Server, models: dict[str, Path]
) -> None:
    want = in_process(models["num"], pd.DataFrame(NUM_ROWS))
    for path in ("/invocations", "/invocations/num"):
        resp = several.post(path, {"dataframe_records": NUM_ROWS})
        assert resp.status == 200, resp.body
        assert resp.json()["predictions"] == pytest.approx(want)
    doc = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": TENSOR}]}
    v2 = several.post("/v2/models/tensor/infer", doc)
    assert v2.status == 200, v2.body
    assert v2.json()["outputs"][0]["data"] == pytest.approx(
        in_process(models["tensor"], np.array(TENSOR))
    )
    index = several.post("/v2/repository/index", {}).json()
    assert {r["name"]: r["state"] for r in index} == {"num": "READY", "tensor": "READY"}


def test_serve_grpc_port(several: Server, grpc_port: int, models: dict[str, Path]) -> None:
    import grpc

    from modelpack.serving.proto import grpc_predict_v2_pb2 as pb
    from modelpack.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    x = np.array(TENSOR)
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP64", shape=x.shape)
    request = pb.ModelInferRequest(
        model_name="tensor", inputs=[tensor], raw_input_contents=[x.astype("<f8").tobytes()]
    )
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        resp = stub.ModelInfer(request, timeout=30)
        got = np.frombuffer(resp.raw_output_contents[0], dtype="<f8")
        assert got.tolist() == pytest.approx(in_process(models["tensor"], x))
        assert stub.ModelReady(pb.ModelReadyRequest(name="num"), timeout=30).ready


def test_serve_one_positional_uri_as_before(tmp_path: Path, models: dict[str, Path]) -> None:
    server = start_api(tmp_path / "one.log", f"{str(models['num'])!r}, name='solo'")
    try:
        resp = server.post("/invocations", {"dataframe_records": NUM_ROWS})
        assert resp.status == 200, resp.body
        assert resp.json()["predictions"] == pytest.approx(
            in_process(models["num"], pd.DataFrame(NUM_ROWS))
        )
        assert server.get("/v2/models/solo/ready").status == 200
    finally:
        server.stop()


def test_create_app_with_several_models_and_a_repository(models: dict[str, Path]) -> None:
    from modelpack.serving import create_app

    app = create_app(
        models={"num": models["num"]},
        model_repository=models["repository"],
        access_log=False,
    )
    resp = call_asgi(app, "POST", "/invocations/num", b'{"dataframe_records": %s}' % (
        pd.DataFrame(NUM_ROWS).to_json(orient="records").encode()), headers=JSON)  # fmt: skip
    assert resp.status == 200, resp.body
    assert resp.json()["predictions"] == pytest.approx(
        in_process(models["num"], pd.DataFrame(NUM_ROWS))
    )
    assert call_asgi(app, "GET", "/v2/models/tensor/ready").status == 200
    several = call_asgi(app, "POST", "/invocations", b"{}", headers=JSON)
    assert several.status == 400  # two models and no default: names them
    assert "num" in several.json()["message"] and "tensor" in several.json()["message"]


def test_create_app_default_model(models: dict[str, Path]) -> None:
    from modelpack.serving import create_app

    app = create_app(
        models["num"],
        models={"tensor": models["tensor"]},
        default_model="numeric-model",
        access_log=False,
    )
    body = pd.DataFrame(NUM_ROWS).to_json(orient="split").encode()
    resp = call_asgi(app, "POST", "/invocations", b'{"dataframe_split": %s}' % body, headers=JSON)
    assert resp.status == 200, resp.body
    assert call_asgi(app, "GET", "/v2/models/numeric-model").json()["name"] == "numeric-model"


@pytest.mark.parametrize(
    ("call", "text"),
    [
        ({"name": "solo", "models": {"a": "PATH"}}, "name names the model given as model_uri"),
        ({"model_or_uri": "PATH", "models": {"numeric-model": "PATH"}}, "two models are named"),
        ({"model_or_uri": "PATH", "default_model": "zzz"}, "'zzz' is none of the models"),
        ({"model_or_uri": "LOADED", "predict_method": "predict"}, "default_predict_method"),
        ({"model_or_uri": "LOADED", "models": {"a": "PATH"}}, "a loaded model is served alone"),
        ({}, "no model to serve"),
        ({"model_or_uri": "PATH", "watch_interval": 0}, "watch_interval must be greater"),
    ],
    ids=["name-without-uri", "same-name", "unknown-default", "method-on-loaded",
         "loaded-with-others", "nothing", "zero-interval"],
)  # fmt: skip
def test_create_app_refuses_bad_model_lists(
    models: dict[str, Path], call: dict[str, Any], text: str
) -> None:
    import modelpack
    from modelpack.serving import create_app

    def fill(value: Any) -> Any:
        if value == "PATH":
            return str(models["num"])
        if value == "LOADED":
            return modelpack.load_model(models["num"])
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    with pytest.raises(ValueError, match=text):
        create_app(**{k: fill(v) for k, v in call.items()})


def test_serve_refuses_an_unknown_default_before_binding(models: dict[str, Path]) -> None:
    from modelpack.serving import serve

    with pytest.raises(ValueError, match="'zzz' is none of the models"):
        serve(models={"num": models["num"]}, default_model="zzz", port=0)
