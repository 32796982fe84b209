"""The Open Inference Protocol over REST, complete: metadata that matches the answers, requested
outputs, the binary tensor data extension both ways, and Triton's own HTTP client.

The in-process tests call the ASGI app; the client tests start ``modelpack serve`` and talk to
it with ``tritonclient.http``, JSON and binary, comparing every answer with in-process predict.
"""

from __future__ import annotations

import http.client
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelpack.serving import create_app

from ._helpers import Response, Server, call_asgi, save_tensor_model, start_server

ROWS = [
    {"PU_DO": "43_151", "trip_distance": 1.8},
    {"PU_DO": "1_2", "trip_distance": 7.25},
    {"PU_DO": "161_236", "trip_distance": 0.5},
]
X = (np.arange(30, dtype=np.float64).reshape(10, 3) % 7) / 2


# ------------------------------------------------------------------------------ helpers
def bytes_tensor(values: list[str]) -> bytes:
    """BYTES elements as the protocol lays them out: a 4-byte little-endian length, the bytes."""
    return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)


def binary_body(doc: dict[str, Any], *blobs: bytes) -> tuple[bytes, int]:
    head = json.dumps(doc).encode()
    return head + b"".join(blobs), len(head)


def infer(app: Any, path: str, body: bytes, header_length: int | None = None) -> Response:
    headers = [(b"content-type", b"application/octet-stream")]
    if header_length is not None:
        headers.append((b"inference-header-content-length", str(header_length).encode()))
    return call_asgi(app, "POST", path, body, headers=headers)


def outputs_of(resp: Response) -> dict[str, np.ndarray]:
    """The output tensors of an answer, JSON or binary (read here independently of modelpack)."""
    length = resp.headers.get("inference-header-content-length")
    head = resp.body[: int(length)] if length else resp.body
    raw = resp.body[int(length) :] if length else b""
    result, offset = {}, 0
    for out in json.loads(head)["outputs"]:
        size = (out.get("parameters") or {}).get("binary_data_size")
        if size is None:
            result[out["name"]] = np.array(out["data"]).reshape(out["shape"])
            continue
        chunk = raw[offset : offset + size]
        offset += size
        dtype = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4"}[out["datatype"]]
        result[out["name"]] = np.frombuffer(chunk, dtype=dtype).reshape(out["shape"])
    assert offset == len(raw), "binary data beyond the outputs"
    return result


def taxi_tensors(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": "PU_DO", "shape": [len(rows)], "datatype": "BYTES",
             "data": [r["PU_DO"] for r in rows]},
            {"name": "trip_distance", "shape": [len(rows)], "datatype": "FP64",
             "data": [r["trip_distance"] for r in rows]},
        ]
    }  # fmt: skip


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tensor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tensor_model(tmp_path_factory.mktemp("v2") / "tensor-model")


@pytest.fixture(scope="module")
def taxi_app(taxi_model: Any) -> Any:
    return create_app(taxi_model, name="taxi", access_log=False)


@pytest.fixture(scope="module")
def tensor_app(tensor_dir: Path) -> Any:
    return create_app(tensor_dir, name="m", access_log=False, max_cells=1000)


@pytest.fixture(scope="module")
def tensor_model(tensor_dir: Path) -> Any:
    import modelpack

    return modelpack.load_model(tensor_dir)


# ------------------------------------------------------------------- metadata and answers
@pytest.mark.parametrize("which", ["taxi", "tensor"])
def test_metadata_and_answer_agree(which: str, request: pytest.FixtureRequest) -> None:
    app = request.getfixturevalue(f"{which}_app")
    name = "taxi" if which == "taxi" else "m"
    meta = call_asgi(app, "GET", f"/v2/models/{name}").json()
    if which == "taxi":
        doc = taxi_tensors(ROWS)
    else:
        doc = {"inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP64",
                           "data": X[:4].ravel().tolist()}]}  # fmt: skip
    answer = infer(app, f"/v2/models/{name}/infer", json.dumps(doc).encode()).json()
    assert [o["name"] for o in answer["outputs"]] == [o["name"] for o in meta["outputs"]]
    for out, declared in zip(answer["outputs"], meta["outputs"], strict=True):
        assert out["datatype"] == declared["datatype"]
        assert len(out["shape"]) == len(declared["shape"])
        assert all(d in (-1, s) for s, d in zip(out["shape"], declared["shape"], strict=True))
    assert meta["outputs"][0]["name"] == "output-0"  # unnamed output: positional, as inputs


def test_requested_outputs(tensor_app: Any, tensor_model: Any) -> None:
    doc = {
        "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": X[:2].tolist()}],
        "outputs": [{"name": "output-0"}],
    }
    resp = infer(tensor_app, "/v2/models/m/infer", json.dumps(doc).encode())
    assert outputs_of(resp)["output-0"] == pytest.approx(tensor_model.predict(X[:2]))
    doc["outputs"] = [{"name": "predict"}]
    resp = infer(tensor_app, "/v2/models/m/infer", json.dumps(doc).encode())
    assert resp.status == 400
    assert resp.json()["error"] == (
        "unknown output(s) 'predict'; this model's outputs are output-0"
    )


# ------------------------------------------------------------------ binary tensor extension
def test_binary_both_ways(taxi_app: Any, taxi_model: Any) -> None:
    distances = np.array([r["trip_distance"] for r in ROWS])
    doc = {
        "id": "b-1",
        "inputs": [
            {"name": "PU_DO", "shape": [3], "datatype": "BYTES",
             "parameters": {"binary_data_size": len(bytes_tensor([r["PU_DO"] for r in ROWS]))}},
            {"name": "trip_distance", "shape": [3, 1], "datatype": "FP64",
             "parameters": {"binary_data_size": 24}},
        ],
        "parameters": {"binary_data_output": True},
    }  # fmt: skip
    body, length = binary_body(doc, bytes_tensor([r["PU_DO"] for r in ROWS]), distances.tobytes())
    resp = infer(taxi_app, "/v2/models/taxi/infer", body, length)
    assert resp.status == 200, resp.body
    assert resp.headers["content-type"] == "application/octet-stream"
    head = json.loads(resp.body[: int(resp.headers["inference-header-content-length"])])
    assert head["id"] == "b-1"
    assert head["outputs"][0]["parameters"] == {"binary_data_size": 24}
    assert "data" not in head["outputs"][0]
    got = outputs_of(resp)["output-0"]
    assert got.tolist() == np.asarray(taxi_model.predict(ROWS), dtype=np.float64).tolist()


def test_binary_choice_per_output(tensor_app: Any, tensor_model: Any) -> None:
    base = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64",
                        "parameters": {"binary_data_size": 48}}]}  # fmt: skip
    want = tensor_model.predict(X[:2])
    cases = {  # request parameters, requested outputs -> binary answer?
        "default_json": ({}, None, False),
        "binary_data_output": ({"binary_data_output": True}, None, True),
        "output_overrides": ({"binary_data_output": True}, False, False),
        "output_asks": ({}, True, True),
    }
    for label, (params, per_output, binary) in cases.items():
        doc = {**base, "parameters": params}
        if per_output is not None:
            doc["outputs"] = [{"name": "output-0", "parameters": {"binary_data": per_output}}]
        resp = infer(tensor_app, "/v2/models/m/infer", *binary_body(doc, X[:2].tobytes()))
        assert resp.status == 200, (label, resp.body)
        assert ("inference-header-content-length" in resp.headers) is binary, label
        assert outputs_of(resp)["output-0"] == pytest.approx(want), label


def test_binary_bool_and_integer_inputs(tmp_path: Path) -> None:
    """Every fixed-size datatype reads from its little-endian bytes (here INT32 and BOOL)."""
    from sklearn.linear_model import LinearRegression

    import modelpack

    x = np.array([[1, 0], [2, 1], [3, 0], [5, 1]], dtype=np.int32)
    lr = LinearRegression().fit(x, [1.0, 2.0, 3.0, 4.0])
    modelpack.save_model(lr, tmp_path / "int", input_example=x[:2])
    app = create_app(tmp_path / "int", name="int", access_log=False)
    doc = {"inputs": [{"name": "x", "shape": [4, 2], "datatype": "INT32",
                       "parameters": {"binary_data_size": 32}}]}  # fmt: skip
    resp = infer(app, "/v2/models/int/infer", *binary_body(doc, x.astype("<i4").tobytes()))
    assert outputs_of(resp)["output-0"] == pytest.approx(lr.predict(x))
    from modelpack.serving._tensors import from_bytes

    flags = from_bytes(b"\x01\x00\x01", "BOOL", [3], "input 'b'")
    assert flags.tolist() == [True, False, True]


def _one(shape: list[int], size: Any, datatype: str = "FP64", **more: Any) -> dict[str, Any]:
    """A request header with one binary input ``x``."""
    tensor = {"name": "x", "shape": shape, "datatype": datatype, **more}
    return {"inputs": [{**tensor, "parameters": {"binary_data_size": size}}]}


_ROW = X[:1].tobytes()  # 24 bytes: one row of 3 doubles
# label -> (json header, binary part, header length (None: the JSON's), status, text)
HOSTILE = {
    "size_beyond_body": (_one([1, 3], 1 << 40), _ROW, None, 400, "only 24 bytes"),
    "negative_size": (_one([1, 3], -24), _ROW, None, 400, "non-negative integer"),
    "size_not_integer": (_one([1, 3], "24"), _ROW, None, 400, "non-negative integer"),
    "shape_disagrees_with_bytes": (_one([2, 3], 24), _ROW, None, 400, "needs 48 bytes"),
    "bytes_left_over": (_one([1, 3], 24), _ROW + b"\x00", None, 400, "1 bytes of binary"),
    "huge_shape_small_bytes": (_one([1 << 62, 3], 24), _ROW, None, 400, "dimension 0"),
    "too_many_cells": (_one([400, 3], 9600), b"\x00" * 9600, None, 413, "limit of 1,000"),
    "negative_dimension": (_one([-1, 3], 24), _ROW, None, 400, "non-negative integers"),
    "header_longer_than_body": (_one([1, 3], 24), _ROW, 10**9, 400, "Inference-Header"),
    "header_not_a_number": (_one([1, 3], 24), _ROW, "1e3", 400, "Inference-Header"),
    "header_zero": (_one([1, 3], 24), _ROW, 0, 400, "Inference-Header"),
    "header_cuts_json": (_one([1, 3], 24), _ROW, 10, 400, "not valid JSON"),
    "no_header": (_one([1, 3], 24), b"", "absent", 400, "no Inference-Header"),
    "bytes_element_too_long": (
        _one([1], 8, "BYTES"),
        struct.pack("<I", 1 << 31) + b"abcd",
        None,
        400,
        "declares 2,147,483,648 bytes",
    ),
    "bytes_elements_missing": (
        _one([3], 9, "BYTES"),
        bytes_tensor(["abcde"]),
        None,
        400,
        "ends after 1 of its 3",
    ),
    "bool_not_0_or_1": (_one([2], 2, "BOOL"), b"\x01\x07", None, 400, "must be 0 or 1"),
    "data_and_binary": (
        _one([1, 3], 24, data=[1, 2, 3]),
        _ROW,
        None,
        400,
        "both data and binary_data_size",
    ),
}


@pytest.mark.parametrize(
    ("doc", "raw", "length", "status", "text"), list(HOSTILE.values()), ids=list(HOSTILE)
)
def test_hostile_binary_bodies(
    tensor_app: Any, doc: dict[str, Any], raw: bytes, length: Any, status: int, text: str
) -> None:
    body, json_length = binary_body(doc, raw)
    header: Any = json_length if length is None else length
    resp = infer(tensor_app, "/v2/models/m/infer", body, None if header == "absent" else header)
    assert resp.status == status, resp.body
    assert text in resp.json()["error"]
    assert call_asgi(tensor_app, "GET", "/v2/health/ready").status == 200


# ------------------------------------------------------------------------------ parameters
def test_predict_method_reaches_predict(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import modelpack

    y = (X[:, 0] > 1.5).astype(int)
    clf = LogisticRegression().fit(X, y)
    modelpack.save_model(clf, tmp_path / "clf", input_example=X[:2])
    app = create_app(tmp_path / "clf", name="clf", access_log=False)
    doc = {
        "inputs": [{"name": "x", "shape": [3, 3], "datatype": "FP64", "data": X[:3].tolist()}],
        "parameters": {"predict_method": "predict_proba", "content_type": "np"},
    }
    resp = infer(app, "/v2/models/clf/infer", json.dumps(doc).encode())
    assert resp.status == 200, resp.body
    got = outputs_of(resp)
    proba = clf.predict_proba(X[:3])
    assert sorted(got) == ["0", "1"]  # one output per class label
    assert got["0"] == pytest.approx(proba[:, 0])
    assert got["1"] == pytest.approx(proba[:, 1])
    doc["parameters"] = {"predict_method": "transform"}
    resp = infer(app, "/v2/models/clf/infer", json.dumps(doc).encode())
    assert resp.status == 400
    assert "predict_proba" in resp.json()["error"]  # names the methods it has


# ------------------------------------------------------------------------ Triton's client
@pytest.fixture(scope="module")
def taxi_v2_server(tmp_path_factory: pytest.TempPathFactory, taxi_dir: Path) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("v2-log") / "server.log"
    server = start_server(taxi_dir, log, "--name", "taxi", "--no-access-log")
    yield server
    server.stop()


def _triton_inputs(rows: list[dict[str, Any]], binary: bool) -> list[Any]:
    import tritonclient.http as httpclient

    zones = np.array([r["PU_DO"] for r in rows], dtype=object)
    distances = np.array([r["trip_distance"] for r in rows], dtype=np.float64)
    zone = httpclient.InferInput("PU_DO", [len(rows)], "BYTES")
    zone.set_data_from_numpy(zones, binary_data=binary)
    distance = httpclient.InferInput("trip_distance", [len(rows)], "FP64")
    distance.set_data_from_numpy(distances, binary_data=binary)
    return [zone, distance]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_http(
    taxi_v2_server: Server, taxi_model: Any, taxi: Any, binary: bool
) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(f"127.0.0.1:{taxi_v2_server.port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("taxi")
        meta = client.get_model_metadata("taxi")
        output = meta["outputs"][0]["name"]
        rows = taxi[1][:50]
        requested = [httpclient.InferRequestedOutput(output, binary_data=binary)]
        result = client.infer("taxi", _triton_inputs(rows, binary), outputs=requested)
        got = result.as_numpy(output)
        assert got is not None
        assert got.tolist() == np.asarray(taxi_model.predict(rows), dtype=np.float64).tolist()
        assert result.get_output(output)["datatype"] == meta["outputs"][0]["datatype"]
        # no outputs named: Triton's client asks for every output in binary
        default = client.infer("taxi", _triton_inputs(rows[:3], binary))
        assert default.as_numpy(output) == pytest.approx(taxi_model.predict(rows[:3]))
    finally:
        client.close()


def test_tritonclient_http_errors(taxi_v2_server: Server) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(f"127.0.0.1:{taxi_v2_server.port}")
    try:
        inputs = _triton_inputs(ROWS, True)
        with pytest.raises(InferenceServerException, match="output-0"):
            client.infer("taxi", inputs, outputs=[httpclient.InferRequestedOutput("nope")])
        with pytest.raises(InferenceServerException, match="serves 'taxi'|no model 'other'"):
            client.infer("other", inputs)
    finally:
        client.close()


def test_hostile_binary_body_on_the_real_server(taxi_v2_server: Server) -> None:
    doc = {"inputs": [{"name": "trip_distance", "shape": [1 << 20], "datatype": "FP64",
                       "parameters": {"binary_data_size": 8}}]}  # fmt: skip
    body, length = binary_body(doc, b"\x00" * 8)
    conn = http.client.HTTPConnection("127.0.0.1", taxi_v2_server.port, timeout=30)
    try:
        headers = {"Inference-Header-Content-Length": str(length)}
        conn.request("POST", "/v2/models/taxi/infer", body=body, headers=headers)
        resp = conn.getresponse()
        assert resp.status in (400, 413)
        assert "error" in json.loads(resp.read())
    finally:
        conn.close()
    assert taxi_v2_server.get("/v2/health/ready").status == 200


def test_bytes_output_binary(tmp_path: Path) -> None:
    """String predictions travel as BYTES: 4-byte little-endian length, then the bytes."""
    from sklearn.linear_model import LogisticRegression

    import modelpack

    labels = np.where(X[:, 0] > 1.5, "long trip", "short")
    clf = LogisticRegression().fit(X, labels)
    modelpack.save_model(clf, tmp_path / "labels", input_example=X[:2])
    app = create_app(tmp_path / "labels", name="labels", access_log=False)
    meta = call_asgi(app, "GET", "/v2/models/labels").json()
    assert meta["outputs"][0]["datatype"] == "BYTES"
    doc = _one([4, 3], 96)
    doc["parameters"] = {"binary_data_output": True}
    resp = infer(app, "/v2/models/labels/infer", *binary_body(doc, X[:4].tobytes()))
    assert resp.status == 200, resp.body
    length = int(resp.headers["inference-header-content-length"])
    (out,) = json.loads(resp.body[:length])["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("output-0", "BYTES", [4])
    raw, got = resp.body[length:], []
    while raw:
        (size,) = struct.unpack_from("<I", raw)
        got.append(raw[4 : 4 + size].decode())
        raw = raw[4 + size :]
    assert got == clf.predict(X[:4]).tolist()


def test_server_metadata_names_the_extensions(tensor_app: Any) -> None:
    # the same list as gRPC's ServerMetadata (tests/serving/test_grpc.py)
    resp = call_asgi(tensor_app, "GET", "/v2")
    assert resp.status == 200
    assert resp.json()["extensions"] == ["binary_tensor_data", "model_repository"]
