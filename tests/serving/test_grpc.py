"""The Open Inference Protocol over gRPC: ``modelpack serve --grpc-port`` with Triton's gRPC
client and with a plain grpcio stub generated from modelpack's own .proto.

Every answer is compared with in-process predict; hostile requests end as gRPC status codes
while the server keeps serving.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ._helpers import Server, free_port, save_tensor_model, start_server

grpc = pytest.importorskip("grpc")

from modelpack.serving.proto import (  # noqa: E402  (needs grpcio, checked above)
    grpc_predict_v2_pb2 as pb,
)
from modelpack.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402

X = (np.arange(60, dtype=np.float64).reshape(20, 3) % 7) / 2


@pytest.fixture(scope="module")
def tensor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tensor_model(tmp_path_factory.mktemp("grpc") / "tensor-model")


@pytest.fixture(scope="module")
def tensor_model(tensor_dir: Path) -> Any:
    import modelpack

    return modelpack.load_model(tensor_dir)


def _serve(tmp: Path, model: Path, name: str, *args: str) -> Server:
    grpc_port = free_port()
    server = start_server(model, tmp / f"{name}.log", "--name", name, "--grpc-port",
                          str(grpc_port), "--no-access-log", *args)  # fmt: skip
    server.grpc_port = grpc_port  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="module")
def tensor_server(tmp_path_factory: pytest.TempPathFactory, tensor_dir: Path) -> Iterator[Server]:
    server = _serve(tmp_path_factory.mktemp("grpc-log"), tensor_dir, "m", "--max-cells", "3000")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def taxi_grpc_server(tmp_path_factory: pytest.TempPathFactory, taxi_dir: Path) -> Iterator[Server]:
    server = _serve(tmp_path_factory.mktemp("grpc-log"), taxi_dir, "taxi")
    yield server
    server.stop()


@pytest.fixture
def stub(tensor_server: Server) -> Iterator[Any]:
    channel = grpc.insecure_channel(f"127.0.0.1:{tensor_server.grpc_port}")  # type: ignore[attr-defined]
    yield pb_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def _raw_request(x: np.ndarray, model_name: str = "m", **kw: Any) -> Any:
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP64", shape=x.shape)
    return pb.ModelInferRequest(
        model_name=model_name, inputs=[tensor], raw_input_contents=[x.astype("<f8").tobytes()], **kw
    )


# ------------------------------------------------------------------------- plain grpcio stub
def test_health_and_metadata(stub: Any) -> None:
    assert stub.ServerLive(pb.ServerLiveRequest()).live
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name="m")).ready
    assert not stub.ModelReady(pb.ModelReadyRequest(name="other")).ready
    assert stub.ServerMetadata(pb.ServerMetadataRequest()).name == "modelpack"
    meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="m"))
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [
        ("input-0", "FP64", [-1, 3])
    ]
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.outputs] == [
        ("output-0", "FP64", [-1])
    ]


def test_infer_raw(stub: Any, tensor_model: Any) -> None:
    resp = stub.ModelInfer(_raw_request(X, id="r-1"))
    assert resp.id == "r-1" and resp.model_name == "m"
    (out,) = resp.outputs
    assert (out.name, out.datatype, list(out.shape)) == ("output-0", "FP64", [len(X)])
    got = np.frombuffer(resp.raw_output_contents[0], dtype="<f8")
    assert got.tolist() == np.asarray(tensor_model.predict(X), dtype=np.float64).tolist()


def test_infer_typed_contents(stub: Any, tensor_model: Any) -> None:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="x",
        datatype="FP64",
        shape=[4, 3],
        contents=pb.InferTensorContents(fp64_contents=X[:4].ravel().tolist()),
    )
    resp = stub.ModelInfer(pb.ModelInferRequest(model_name="m", inputs=[tensor]))
    assert not resp.raw_output_contents  # asked in typed contents, answered in kind
    assert list(resp.outputs[0].contents.fp64_contents) == pytest.approx(
        tensor_model.predict(X[:4])
    )


_FP64_3 = ("FP64", [1, 3])
# label -> (datatype, shape, raw bytes or None for typed, extra request fields, code, text)
HOSTILE = {
    "unknown_model": (*_FP64_3, X[:1].tobytes(), {"model_name": "other"}, "NOT_FOUND", "other"),
    "raw_shorter_than_shape": ("FP64", [2, 3], X[:1].tobytes(), {}, "INVALID_ARGUMENT",
                               "needs 48 bytes"),
    "negative_dimension": ("FP64", [-5, 3], X[:1].tobytes(), {}, "INVALID_ARGUMENT",
                           "non-negative"),
    "huge_dimension": ("FP64", [1 << 62, 3], X[:1].tobytes(), {}, "INVALID_ARGUMENT",
                       "dimension 0"),
    "too_many_cells": ("FP64", [2000, 3], b"\x00" * 48000, {}, "RESOURCE_EXHAUSTED",
                       "limit of 3,000"),
    "unknown_datatype": ("FP65", [1, 3], X[:1].tobytes(), {}, "INVALID_ARGUMENT",
                         "unknown datatype"),
    "typed_count_disagrees": ("FP64", [2, 3], None, {}, "INVALID_ARGUMENT", "needs 6 values"),
    "bytes_element_too_long": ("BYTES", [1], struct.pack("<I", 99) + b"ab", {},
                               "INVALID_ARGUMENT", "declares 99 bytes"),
    "unknown_output": (*_FP64_3, X[:1].tobytes(),
                       {"outputs": [pb.ModelInferRequest.InferRequestedOutputTensor(name="y")]},
                       "INVALID_ARGUMENT", "outputs are output-0"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("datatype", "shape", "raw", "extra", "code", "text"), list(HOSTILE.values()), ids=list(HOSTILE)
)
def test_hostile_requests(
    stub: Any,
    datatype: str,
    shape: list[int],
    raw: bytes | None,
    extra: dict[str, Any],
    code: str,
    text: str,
) -> None:
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype=datatype, shape=shape)
    if raw is None:
        tensor.contents.fp64_contents.extend([1.0, 2.0, 3.0])
    fields = {"model_name": "m", **extra}
    request = pb.ModelInferRequest(
        inputs=[tensor], raw_input_contents=[raw] if raw is not None else [], **fields
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(request)
    assert info.value.code().name == code
    assert text in info.value.details()
    assert stub.ServerReady(pb.ServerReadyRequest()).ready


def test_raw_contents_count_must_match_inputs(stub: Any) -> None:
    request = _raw_request(X[:1])
    request.raw_input_contents.append(b"")
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(request)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "one per input" in info.value.details()


# ------------------------------------------------------------------------ Triton's client
def test_tritonclient_grpc(taxi_grpc_server: Server, taxi_model: Any, taxi: Any) -> None:
    import tritonclient.grpc as grpcclient

    port = taxi_grpc_server.grpc_port  # type: ignore[attr-defined]
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("taxi")
        meta = client.get_model_metadata("taxi", as_json=True)
        assert [i["name"] for i in meta["inputs"]] == ["PU_DO", "trip_distance"]
        output = meta["outputs"][0]["name"]
        rows = taxi[1][:40]
        zone = grpcclient.InferInput("PU_DO", [len(rows)], "BYTES")
        zone.set_data_from_numpy(np.array([r["PU_DO"] for r in rows], dtype=object))
        distance = grpcclient.InferInput("trip_distance", [len(rows), 1], "FP64")
        distance.set_data_from_numpy(np.array([[r["trip_distance"]] for r in rows]))
        result = client.infer("taxi", [zone, distance], request_id="t-1")
        got = result.as_numpy(output)
        assert got.tolist() == np.asarray(taxi_model.predict(rows), dtype=np.float64).tolist()
        assert result.get_response().id == "t-1"
        assert result.get_output(output).datatype == meta["outputs"][0]["datatype"]
    finally:
        client.close()


def test_tritonclient_grpc_error(taxi_grpc_server: Server) -> None:
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    port = taxi_grpc_server.grpc_port  # type: ignore[attr-defined]
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        distance = grpcclient.InferInput("distance", [1], "FP64")
        distance.set_data_from_numpy(np.array([1.0]))
        with pytest.raises(InferenceServerException, match="unknown input"):
            client.infer("taxi", [distance])
    finally:
        client.close()


def test_grpc_with_two_workers(tmp_path: Path, tensor_dir: Path, tensor_model: Any) -> None:
    """Each worker serves gRPC on the shared port; every call is answered."""
    server = _serve(tmp_path, tensor_dir, "m", "--workers", "2")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:  # type: ignore[attr-defined]
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            for _ in range(5):
                resp = stub.ModelInfer(_raw_request(X[:3]))
                got = np.frombuffer(resp.raw_output_contents[0], dtype="<f8")
                assert got == pytest.approx(tensor_model.predict(X[:3]))
        # every worker's gRPC counts reach /metrics (shared within half a second): 4 scrapes
        # in a row (fresh connections: both workers) count all 5 calls
        ok = f'modelpack_requests_total{{protocol="grpc",endpoint="{INFER}",status="OK"}}'
        deadline, settled = time.monotonic() + 30, 0
        while settled < 4:
            text = server.get("/metrics").body.decode()
            assert _metric(text, ok) <= 5, text
            settled = settled + 1 if _metric(text, ok) == 5 else 0
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
    finally:
        server.stop()
    assert "gRPC (Open Inference Protocol) listening" in server.log()


def test_busy_grpc_port_stops_the_server(tmp_path: Path, tensor_dir: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server(
            tensor_dir, tmp_path / "busy.log", "--grpc-port", str(port), wait=False
        )
        try:
            assert server.proc.wait(120) != 0
        finally:
            server.stop()
    assert "--grpc-port" in server.log()


def test_servicer_in_process_with_string_outputs(tmp_path: Path) -> None:
    """start_server takes any (name, version) -> model lookup; BYTES outputs come back typed
    (bytes_contents) or raw (length-prefixed), as the request came."""
    from sklearn.linear_model import LogisticRegression

    import modelpack
    from modelpack.serving._grpc import start_server

    labels = np.where(X[:, 0] > 1.5, "long trip", "short")
    clf = LogisticRegression().fit(X, labels)
    modelpack.save_model(clf, tmp_path / "labels", input_example=X[:2])
    model = modelpack.load_model(tmp_path / "labels")

    def lookup(name: str, version: str | None) -> Any:
        if name != "labels":
            raise LookupError(f"no model {name!r}; this server serves 'labels'")
        return model

    server, port = start_server(lookup, "127.0.0.1:0")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            tensor = pb.ModelInferRequest.InferInputTensor(
                name="x",
                datatype="FP64",
                shape=[5, 3],
                contents=pb.InferTensorContents(fp64_contents=X[:5].ravel().tolist()),
            )
            typed = stub.ModelInfer(pb.ModelInferRequest(model_name="labels", inputs=[tensor]))
            want = clf.predict(X[:5]).tolist()
            assert typed.outputs[0].datatype == "BYTES"
            assert [b.decode() for b in typed.outputs[0].contents.bytes_contents] == want
            request = _raw_request(X[:5], model_name="labels")
            raw = stub.ModelInfer(request).raw_output_contents[0]
            got = []
            while raw:
                (size,) = struct.unpack_from("<I", raw)
                got.append(raw[4 : 4 + size].decode())
                raw = raw[4 + size :]
            assert got == want
            with pytest.raises(grpc.RpcError) as info:
                stub.ModelInfer(_raw_request(X[:1], model_name="other"))
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            assert "serves 'labels'" in info.value.details()
    finally:
        server.stop(None)


# ------------------------------------------------------------- metadata, versions, metrics
def test_server_metadata_names_the_extensions(stub: Any) -> None:
    meta = stub.ServerMetadata(pb.ServerMetadataRequest())
    assert list(meta.extensions) == ["binary_tensor_data", "model_repository"]


def test_typed_values_in_the_wrong_field_are_invalid_argument(stub: Any) -> None:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="x",
        datatype="FP64",
        shape=[1, 3],
        contents=pb.InferTensorContents(int64_contents=[1, 2, 3]),
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(pb.ModelInferRequest(model_name="m", inputs=[tensor]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "contents.fp64_contents" in info.value.details()
    assert "int64_contents" in info.value.details()


def _metric(text: str, line_start: str) -> int:
    values = [int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
              if line.startswith(line_start)]  # fmt: skip
    return sum(values)


INFER = "/inference.GRPCInferenceService/ModelInfer"


def test_grpc_calls_are_counted_in_metrics(stub: Any, tensor_server: Server) -> None:
    ok = f'modelpack_requests_total{{protocol="grpc",endpoint="{INFER}",status="OK"}}'
    missing = f'modelpack_requests_total{{protocol="grpc",endpoint="{INFER}",status="NOT_FOUND"}}'
    before = tensor_server.get("/metrics").body.decode()
    for _ in range(3):
        stub.ModelInfer(_raw_request(X[:2]))
    with pytest.raises(grpc.RpcError):
        stub.ModelInfer(_raw_request(X[:2], model_name="other"))
    text = tensor_server.get("/metrics").body.decode()
    assert _metric(text, ok) == _metric(before, ok) + 3
    assert _metric(text, missing) == _metric(before, missing) + 1
    count = f'modelpack_request_duration_seconds_count{{protocol="grpc",endpoint="{INFER}"}}'
    assert _metric(text, count) == _metric(before, count) + 4
    # one family, one header: the gRPC series sit under the HTTP ones' HELP and TYPE
    assert text.count("# TYPE modelpack_requests_total counter") == 1
    assert re.search(r'modelpack_requests_total\{endpoint="/metrics",status="200"\} \d+', text)


def test_grpc_reports_the_version_an_alias_serves(tmp_path: Path) -> None:
    """models:/m@prod served over gRPC: metadata, ready and infer say version 1 (as REST
    does); asking for version 2, which is not served, is NOT_FOUND naming the served one."""
    import modelpack

    for factor in (1, 2):
        path = save_tensor_model(tmp_path / f"v{factor}")
        modelpack.register_model(path, "m")
    modelpack.set_alias("m", "prod", "1")
    grpc_port = free_port()
    server = start_server("models:/m@prod", tmp_path / "alias.log", "--grpc-port",
                          str(grpc_port), "--no-access-log")  # fmt: skip
    try:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="m"))
            assert list(meta.versions) == ["1"]
            assert server.get("/v2/models/m").json()["versions"] == ["1"]
            assert stub.ModelReady(pb.ModelReadyRequest(name="m", version="1")).ready
            assert not stub.ModelReady(pb.ModelReadyRequest(name="m", version="2")).ready
            assert stub.ModelInfer(_raw_request(X[:2])).model_version == "1"
            assert stub.ModelInfer(_raw_request(X[:2], model_version="1")).model_version == "1"
            for call in (
                lambda: stub.ModelInfer(_raw_request(X[:2], model_version="2")),
                lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="m", version="2")),
            ):
                with pytest.raises(grpc.RpcError) as info:
                    call()
                assert info.value.code() == grpc.StatusCode.NOT_FOUND
                assert "serves version 1" in info.value.details()
    finally:
        server.stop()
