"""The KServe recipe (deploy/kserve/) agrees with the image ``build-docker`` writes and with
what ``modelpack serve`` really serves: the manifests' command, arguments, port and probe
paths are read with PyYAML, and a server started with those same arguments answers them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelpack
from modelpack.pack._docker import render_dockerfile

from ._helpers import Server, free_port, request, start_server, wait_ready

ROOT = Path(__file__).resolve().parents[2]
KSERVE = ROOT / "deploy" / "kserve"


def _documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(KSERVE.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[doc["kind"]] = doc
    return docs


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    docs = _documents()
    assert set(docs) == {"ServingRuntime", "InferenceService"}
    return docs


@pytest.fixture(scope="module")
def container(manifests: Any) -> dict[str, Any]:
    (only,) = manifests["ServingRuntime"]["spec"]["containers"]
    return dict(only)


def _image_cmd() -> tuple[list[str], int]:
    """The CMD and EXPOSEd port of the Dockerfile build-docker writes."""
    dockerfile = render_dockerfile("3.11", 8080)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    expose = re.search(r"^EXPOSE (\d+)$", dockerfile, re.M)
    assert cmd and expose
    return json.loads(cmd.group(1)), int(expose.group(1))


def _option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_the_runtime_and_the_service_refer_to_each_other(manifests: Any) -> None:
    runtime, service = manifests["ServingRuntime"], manifests["InferenceService"]
    assert runtime["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert service["apiVersion"] == "serving.kserve.io/v1beta1"
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    formats = {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    assert model["modelFormat"]["name"] in formats
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"] == ["v2"]
    assert "storageUri" not in model  # the model is inside the image


def test_the_container_runs_what_the_image_runs(container: Any) -> None:
    cmd, exposed = _image_cmd()
    command, args = container["command"], container["args"]
    # the same program, model folder, address and port as the image's own CMD
    assert command == cmd[: len(command)]
    image_args = cmd[len(command) :]
    assert args[0] == image_args[0] == "/opt/model"
    for flag in ("--host", "--port"):
        assert _option(args, flag) == _option(image_args, flag)
    port = int(_option(args, "--port"))
    assert port == exposed
    assert [p["containerPort"] for p in container["ports"]] == [port]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == port
    assert _option(args, "--name") == "{{.Name}}"


@pytest.fixture(scope="module")
def served(
    container: Any, manifests: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """``modelpack serve`` started with the runtime's arguments, as KServe fills them in."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sl", "sw", "pl", "pw"]
    model_dir = tmp_path_factory.mktemp("image") / "model"
    modelpack.save_model(LogisticRegression(max_iter=500).fit(X, y), model_dir, input_example=X)
    name = manifests["InferenceService"]["metadata"]["name"]
    args = [a.replace("{{.Name}}", name) for a in container["args"]]
    # the image's /opt/model is this test's folder; 0.0.0.0 and 8080 become 127.0.0.1 and a
    # free port, so the test never listens beyond this machine or collides with another
    args[0] = str(model_dir)
    port = free_port()
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    srv = start_server(args[0], log, *args[1:], port=port, wait=False)
    # start_server adds its own --port; the manifest's (same value) comes later and wins
    wait_ready(srv)
    yield srv, name
    srv.stop()


def test_the_probe_paths_answer(container: Any, served: Any) -> None:
    srv, name = served
    for probe in ("readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        resp = request(srv.port, "GET", path)
        assert resp.status == 200, (path, resp.body)
    # the paths KServe's V2 clients check, under the InferenceService's name
    assert request(srv.port, "GET", "/v2/health/live").json() == {"live": True}
    assert request(srv.port, "GET", "/v2/health/ready").json() == {"ready": True}
    assert request(srv.port, "GET", f"/v2/models/{name}/ready").json()["ready"] is True
    assert request(srv.port, "GET", f"/v2/models/{name}").json()["name"] == name


def test_the_service_infers_under_its_name(served: Any) -> None:
    srv, name = served
    row = {"sl": 5.1, "sw": 3.5, "pl": 1.4, "pw": 0.2}
    body = {
        "inputs": [
            {"name": k, "shape": [1], "datatype": "FP64", "data": [v]} for k, v in row.items()
        ],
        "parameters": {"predict_method": "predict_proba"},
    }
    resp = srv.post(f"/v2/models/{name}/infer", body)
    assert resp.status == 200, resp.body
    outputs = resp.json()["outputs"]
    assert [o["name"] for o in outputs] == ["0", "1", "2"]
    assert sum(o["data"][0] for o in outputs) == pytest.approx(1.0)
