"""The scoring app in-process, through its ASGI interface: payload forms, errors, V2, batching.

Everything the server does per request happens here too (the subprocess tests in
test_server.py add the socket, uvicorn and the workers).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelpack.exceptions import MissingDependencyError
from modelpack.serving import create_app
from modelpack.serving._batching import Batcher, merge, split
from modelpack.serving._payload import Inputs, parse_json

from ._helpers import Response, call_asgi

JSON = [(b"content-type", b"application/json")]
ROWS = [
    {"PU_DO": "43_151", "trip_distance": 1.8},
    {"PU_DO": "1_2", "trip_distance": 7.25},
    {"PU_DO": "161_236", "trip_distance": 0.5},
]


@pytest.fixture(scope="module")
def app(taxi_model: Any) -> Any:
    return create_app(taxi_model, name="taxi", access_log=False)


def post(app: Any, path: str, doc: Any, headers: Any = JSON) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return call_asgi(app, "POST", path, body, headers=headers)


def expected(model: Any, rows: list[dict[str, Any]] = ROWS) -> list[float]:
    return [float(v) for v in model.predict(rows)]


# ---------------------------------------------------------------------------- payload forms
PAYLOADS = {
    "dataframe_records": {"dataframe_records": ROWS},
    "dataframe_split": {
        "dataframe_split": {
            "columns": ["PU_DO", "trip_distance"],
            "data": [[r["PU_DO"], r["trip_distance"]] for r in ROWS],
        }
    },
    "dataframe_split_reordered_with_index": {
        "dataframe_split": {
            "index": [0, 1, 2],
            "columns": ["trip_distance", "PU_DO"],
            "data": [[r["trip_distance"], r["PU_DO"]] for r in ROWS],
        }
    },
    "instances_records": {"instances": ROWS},
    "instances_rows_in_signature_order": {
        "instances": [[r["PU_DO"], r["trip_distance"]] for r in ROWS]
    },
    "inputs_columns": {
        "inputs": {
            "PU_DO": [r["PU_DO"] for r in ROWS],
            "trip_distance": [r["trip_distance"] for r in ROWS],
        }
    },
}


@pytest.mark.parametrize("doc", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_every_payload_form_predicts_like_in_process(app: Any, taxi_model: Any, doc: Any) -> None:
    resp = post(app, "/invocations", doc)
    assert resp.status == 200, resp.body
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["predictions"] == pytest.approx(expected(taxi_model))


def test_one_record_as_inputs_object(app: Any, taxi_model: Any) -> None:
    resp = post(app, "/invocations", {"inputs": ROWS[0]})
    assert resp.json()["predictions"] == pytest.approx(expected(taxi_model, ROWS[:1]))


def test_integers_in_a_double_column_are_accepted(app: Any, taxi_model: Any) -> None:
    resp = post(app, "/invocations", {"dataframe_records": [{"PU_DO": "1_2", "trip_distance": 3}]})
    assert resp.json()["predictions"] == pytest.approx(
        expected(taxi_model, [{"PU_DO": "1_2", "trip_distance": 3.0}])
    )


def test_csv(app: Any, taxi_model: Any) -> None:
    csv = "PU_DO,trip_distance\n" + "".join(f"{r['PU_DO']},{r['trip_distance']}\n" for r in ROWS)
    resp = post(app, "/invocations", csv.encode(), [(b"content-type", b"text/csv; charset=utf-8")])
    assert resp.status == 200, resp.body
    assert resp.json()["predictions"] == pytest.approx(expected(taxi_model))


# ----------------------------------------------------------------------------- errors
ERRORS = {
    "malformed_json": (b'{"dataframe_records": [', 400, "MALFORMED_REQUEST", "not valid JSON"),
    "not_an_object": ([1, 2], 400, "BAD_REQUEST", "got a list"),
    "no_payload_key": ({"params": {}}, 400, "BAD_REQUEST", "none of them"),
    "several_payload_keys": (
        {"dataframe_records": ROWS, "instances": ROWS},
        400,
        "BAD_REQUEST",
        "several: dataframe_records, instances",
    ),
    "unknown_key": ({"dataframe_records": ROWS, "colums": []}, 400, "BAD_REQUEST", "'colums'"),
    "records_not_objects": (
        {"dataframe_records": [[1, 2]]},
        400,
        "BAD_REQUEST",
        "item 0 is a list",
    ),
    "empty_records": ({"dataframe_records": []}, 400, "BAD_REQUEST", "holds no rows"),
    "split_row_too_short": (
        {"dataframe_split": {"columns": ["PU_DO", "trip_distance"], "data": [["1_2"]]}},
        400,
        "BAD_REQUEST",
        "row 0 has 1 values",
    ),
    "missing_column": (
        {"dataframe_records": [{"PU_DO": "1_2"}]},
        400,
        "INVALID_PARAMETER_VALUE",
        "missing required column(s) 'trip_distance'",
    ),
    "mistyped_column": (
        {"dataframe_records": [{"PU_DO": "1_2", "trip_distance": "far"}]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'trip_distance' expects double but got string values",
    ),
    "undeclared_params": (
        {"dataframe_records": ROWS, "params": {"alpha": 1}},
        400,
        "INVALID_PARAMETER_VALUE",
        "declares no inference parameters",
    ),
    "params_not_object": ({"dataframe_records": ROWS, "params": [1]}, 400, "BAD_REQUEST", "params"),
}


@pytest.mark.parametrize(("doc", "status", "code", "text"), list(ERRORS.values()), ids=list(ERRORS))
def test_bad_requests_say_what_is_wrong(
    app: Any, doc: Any, status: int, code: str, text: str
) -> None:
    resp = post(app, "/invocations", doc)
    assert resp.status == status
    body = resp.json()
    assert body["error_code"] == code
    assert text in body["message"]


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"text/plain")],
        [],
        [(b"content-type", b"application/json; charset=latin-1")],
    ],
    ids=["text_plain", "no_content_type", "latin1_charset"],
)
def test_unsupported_content_type_is_415(app: Any, headers: Any) -> None:
    resp = post(app, "/invocations", {"dataframe_records": ROWS}, headers)
    assert resp.status == 415
    assert resp.json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    ("library", "ctype", "what"),
    [
        ("pandas", b"text/csv", "CSV"),
        ("pandas", b"application/vnd.apache.parquet", "Parquet"),
        ("pyarrow", b"application/vnd.apache.parquet", "Parquet"),
    ],
    ids=["csv-without-pandas", "parquet-without-pandas", "parquet-without-pyarrow"],
)
def test_body_format_without_its_library_is_415_naming_the_extra(
    app: Any, monkeypatch: pytest.MonkeyPatch, library: str, ctype: bytes, what: str
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # what an uninstalled library looks like
    resp = post(app, "/invocations", b"PU_DO,trip_distance\n1_2,3.0\n", [(b"content-type", ctype)])
    assert resp.status == 415
    message = resp.json()["message"]
    assert f"cannot read {what}" in message and 'pip install "modelpack[serve]"' in message


def test_create_app_without_orjson_names_the_extra(
    taxi_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "orjson", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "modelpack\[serve\]"') as info:
        create_app(taxi_model)
    assert info.value.extra == "serve"


@pytest.mark.parametrize("library", ["uvicorn", "httptools"])
def test_serve_without_the_server_stack_names_the_extra(
    taxi_dir: Path, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    from modelpack.serving import serve

    monkeypatch.setitem(sys.modules, library, None)
    with pytest.raises(MissingDependencyError, match=r'pip install "modelpack\[serve\]"'):
        serve(taxi_dir, port=0)


def test_body_over_the_limit_is_refused_while_streaming(taxi_model: Any) -> None:
    small = create_app(taxi_model, max_body_mb=0.001, access_log=False)  # 1048 bytes
    chunks = [b"x" * 600, b"x" * 600]  # the app never asks for more than these two
    resp = call_asgi(small, "POST", "/invocations", headers=JSON, chunks=chunks)
    assert resp.status == 413
    assert resp.headers["connection"] == "close"
    assert "larger than the limit" in resp.json()["message"]
    declared = [*JSON, (b"content-length", b"5000")]
    assert call_asgi(small, "POST", "/invocations", headers=declared, chunks=[]).status == 413


def test_unknown_path_and_wrong_method(app: Any) -> None:
    assert call_asgi(app, "GET", "/nope").status == 404
    resp = call_asgi(app, "GET", "/invocations")
    assert resp.status == 405
    assert resp.json()["error_code"] == "METHOD_NOT_ALLOWED"


# --------------------------------------------------------------------------- V2 protocol
def v2_inputs(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "req-1",
        "inputs": [
            {
                "name": "PU_DO",
                "shape": [len(rows)],
                "datatype": "BYTES",
                "data": [r["PU_DO"] for r in rows],
            },
            {
                "name": "trip_distance",
                "shape": [len(rows), 1],
                "datatype": "FP64",
                "data": [r["trip_distance"] for r in rows],
            },
        ],
    }


def test_v2_infer(app: Any, taxi_model: Any) -> None:
    resp = post(app, "/v2/models/taxi/infer", v2_inputs(ROWS))
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["model_name"] == "taxi"
    assert body["id"] == "req-1"
    (out,) = body["outputs"]
    assert out["shape"] == [3]
    assert out["datatype"] == "FP64"
    assert out["data"] == pytest.approx(expected(taxi_model))


def test_v2_metadata_comes_from_the_signature(app: Any) -> None:
    meta = call_asgi(app, "GET", "/v2/models/taxi").json()
    assert meta["name"] == "taxi"
    assert meta["inputs"] == [
        {"name": "PU_DO", "datatype": "BYTES", "shape": [-1]},
        {"name": "trip_distance", "datatype": "FP64", "shape": [-1]},
    ]
    assert meta["outputs"][0]["datatype"] == "FP64"
    assert call_asgi(app, "GET", "/v2/models/taxi/ready").json() == {"name": "taxi", "ready": True}


V2_ERRORS = {
    "unknown_model": ("/v2/models/other/infer", v2_inputs(ROWS), 404, "serves 'taxi'"),
    "unknown_datatype": (
        "/v2/models/taxi/infer",
        {"inputs": [{"name": "trip_distance", "shape": [1], "datatype": "FP65", "data": [1.0]}]},
        400,
        "unknown datatype 'FP65'",
    ),
    "shape_mismatch": (
        "/v2/models/taxi/infer",
        {"inputs": [{"name": "trip_distance", "shape": [2], "datatype": "FP64", "data": [1.0]}]},
        400,
        "needs 2 values, data holds 1",
    ),
    "data_not_of_datatype": (
        "/v2/models/taxi/infer",
        {"inputs": [{"name": "trip_distance", "shape": [1], "datatype": "INT64", "data": [1.5]}]},
        400,
        "declares INT64",
    ),
    "unknown_input": (
        "/v2/models/taxi/infer",
        {"inputs": [{"name": "distance", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
        400,
        "unknown input(s) 'distance'",
    ),
    "missing_column": (
        "/v2/models/taxi/infer",
        {"inputs": [{"name": "trip_distance", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
        400,
        "'PU_DO'",
    ),
    "no_inputs": ("/v2/models/taxi/infer", {"inputs": []}, 400, "non-empty 'inputs'"),
}


@pytest.mark.parametrize(
    ("path", "doc", "status", "text"), list(V2_ERRORS.values()), ids=list(V2_ERRORS)
)
def test_v2_errors(app: Any, path: str, doc: Any, status: int, text: str) -> None:
    resp = post(app, path, doc)
    assert resp.status == status
    assert set(resp.json()) == {"error"}
    assert text in resp.json()["error"]


def test_v2_tensor_model(tmp_path: Path) -> None:
    """A model with a tensor signature takes one [n, k] tensor, and instances as rows."""
    from sklearn.linear_model import LinearRegression

    import modelpack

    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    lr = LinearRegression().fit(x, x @ [1.0, 2.0, 3.0])
    modelpack.save_model(lr, tmp_path / "m", input_example=x[:2])
    app = create_app(tmp_path / "m", access_log=False)
    meta = call_asgi(app, "GET", "/v2/models/m").json()
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 3]}]
    doc = {
        "inputs": [
            {"name": "x", "shape": [2, 3], "datatype": "FP64", "data": x[:2].ravel().tolist()}
        ]
    }
    out = post(app, "/v2/models/m/infer", doc).json()["outputs"][0]
    assert out["data"] == pytest.approx(lr.predict(x[:2]).tolist())
    resp = post(app, "/invocations", {"instances": x[:2].tolist()})
    assert resp.json()["predictions"] == pytest.approx(lr.predict(x[:2]).tolist())


# --------------------------------------------------------------------------- health etc.
def test_health_version_and_metrics(app: Any) -> None:
    from modelpack import __version__

    for path in ("/ping", "/health", "/v2/health/live", "/v2/health/ready"):
        assert call_asgi(app, "GET", path).status == 200, path
    assert call_asgi(app, "GET", "/version").body.decode() == __version__
    text = call_asgi(app, "GET", "/metrics").body.decode()
    assert 'modelpack_requests_total{endpoint="/ping",status="200"}' in text
    assert "modelpack_batch_rows_bucket" in text


def test_mounted_under_a_prefix(app: Any, taxi_model: Any) -> None:
    body = json.dumps({"dataframe_records": ROWS}).encode()
    resp = call_asgi(app, "POST", "/invocations", body, headers=JSON, root_path="/models/taxi")
    assert resp.json()["predictions"] == pytest.approx(expected(taxi_model))


def test_lifespan_is_answered(app: Any) -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# ----------------------------------------------------------------------------- batching
def test_batcher_gives_each_request_its_own_rows(taxi_model: Any) -> None:
    """Concurrent submissions are merged into one predict call and split back in order."""
    sizes: list[tuple[int, int]] = []
    requests = [[{"PU_DO": "7_9", "trip_distance": float(i)}] * (1 + i % 3) for i in range(20)]

    async def run() -> list[Any]:
        batcher = Batcher(
            taxi_model.predict,
            max_rows=1000,
            max_latency=0.0,
            on_batch=lambda r, n: sizes.append((r, n)),
        )
        inputs = [
            parse_json(json.dumps({"dataframe_records": rows}).encode(), None) for rows in requests
        ]
        return await asyncio.gather(*(batcher.submit(i) for i in inputs))

    outcomes = asyncio.run(run())
    assert sizes == [(20, sum(len(r) for r in requests))]  # one call served them all
    for rows, (ok, out) in zip(requests, outcomes):
        assert ok
        assert out.tolist() == pytest.approx(expected(taxi_model, rows))


def test_a_bad_request_in_a_batch_fails_alone(taxi_model: Any) -> None:
    good = {"PU_DO": "1_2", "trip_distance": 2.0}
    bad = {"PU_DO": "1_2", "trip_distance": "two"}

    async def run() -> list[Any]:
        batcher = Batcher(taxi_model.predict, max_rows=100, max_latency=0.0)
        docs = [[good], [bad], [good]]
        inputs = [parse_json(json.dumps({"dataframe_records": d}).encode(), None) for d in docs]
        return await asyncio.gather(*(batcher.submit(i) for i in inputs))

    (ok1, out1), (ok2, err), (ok3, out3) = asyncio.run(run())
    assert ok1 and ok3 and not ok2
    assert "trip_distance" in str(err)
    assert out1.tolist() == out3.tolist() == pytest.approx(expected(taxi_model, [good]))


def test_batches_respect_the_size_limit(taxi_model: Any) -> None:
    sizes: list[int] = []

    async def run() -> None:
        batcher = Batcher(
            taxi_model.predict, max_rows=4, max_latency=0.0, on_batch=lambda r, n: sizes.append(n)
        )
        inputs = [Inputs({"PU_DO": ["1_2"], "trip_distance": [1.0]}, 1, ("c",)) for _ in range(10)]
        await asyncio.gather(*(batcher.submit(i) for i in inputs))

    asyncio.run(run())
    assert sum(sizes) == 10
    assert max(sizes) <= 4


def test_params_reach_predict(scaler_model_dir: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loading a pickled custom model warns
        app = create_app(scaler_model_dir, access_log=False)
    resp = post(app, "/invocations", {"inputs": {"x": [1.0, 2.0]}, "params": {"factor": 3.0}})
    assert resp.json() == {"predictions": [3.0, 6.0]}
    assert post(app, "/invocations", {"inputs": {"x": [5.0]}}).json() == {"predictions": [5.0]}
    doc = {
        "parameters": {"factor": 10.0, "content_type": "np"},  # content_type: a protocol hint
        "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.5]}],
    }
    assert post(app, "/v2/models/scaler-model/infer", doc).json()["outputs"][0]["data"] == [15.0]


def test_batched_requests_with_different_params_stay_apart(scaler_model_dir: Path) -> None:
    import warnings

    import modelpack

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = modelpack.load_model(scaler_model_dir)

    async def run() -> list[Any]:
        batcher = Batcher(model.predict, max_rows=100, max_latency=0.0)
        docs = [{"inputs": {"x": [1.0]}, "params": {"factor": f}} for f in (2.0, 3.0, 2.0)]
        inputs = [parse_json(json.dumps(d).encode(), model.input_schema) for d in docs]
        return await asyncio.gather(*(batcher.submit(i) for i in inputs))

    assert [out.tolist() for _, out in asyncio.run(run())] == [[2.0], [3.0], [2.0]]


def test_merge_and_split() -> None:
    import pandas as pd

    assert merge([{"a": [1]}, {"a": [2, 3]}]) == {"a": [1, 2, 3]}
    assert merge([np.ones((1, 2)), np.zeros((2, 2))]).shape == (3, 2)
    assert [p.tolist() for p in split(np.arange(3), [1, 2])] == [[0], [1, 2]]  # type: ignore[union-attr]
    frame = pd.DataFrame({"y": [1, 2, 3]})
    assert [len(p) for p in split(frame, [2, 1])] == [2, 1]  # type: ignore[union-attr]
    assert split({"y": np.arange(3)}, [1, 2])[1]["y"].tolist() == [1, 2]  # type: ignore[index]
    assert split(np.float64(1.0), [1]) is None  # a scalar cannot be cut into rows
    assert split(np.arange(4), [1, 2]) is None  # nor an output of the wrong length


def test_lookup_follows_the_model_table(app: Any, taxi_model: Any) -> None:
    """The lookup other front ends (gRPC) use: the model served now under a name."""
    from modelpack.exceptions import ModelNotFoundError

    assert app.lookup("taxi") is taxi_model
    assert app.lookup("taxi", None) is taxi_model
    with pytest.raises(ModelNotFoundError, match="this server serves 'taxi'"):
        app.lookup("other")
    entry = app.table.entries["taxi"]
    app.unload(entry)
    try:
        with pytest.raises(ModelNotFoundError, match="/v2/repository/models/taxi/load"):
            app.lookup("taxi")
        assert call_asgi(app, "POST", "/invocations/taxi", b"{}", headers=JSON).status == 404
    finally:
        from modelpack.serving._repository import Served

        app.install(entry, Served(taxi_model, version=None, uri="", memory=None))
    assert app.lookup("taxi") is taxi_model
