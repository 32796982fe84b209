"""predict_method over HTTP: a real ``modelpack serve`` subprocess answers with the method a
request asks for (MLflow protocol ``params``, V2 ``parameters``) or the server's
``--predict-method``; each answer compared with calling the raw scikit-learn method."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack

from ._helpers import Server, start_server

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ALL = ["predict", "predict_proba", "predict_log_proba", "decision_function"]


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = COLUMNS
    return X, y


@pytest.fixture(scope="module")
def classifier(iris: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A 3-class pipeline with string labels, saved."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y.to_numpy()]
    raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, labels)
    path = tmp_path_factory.mktemp("models") / "iris"
    modelpack.save_model(raw, path, input_example=X.head())
    return raw, path


@pytest.fixture(scope="module")
def server(classifier: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    srv = start_server(classifier[1], log, "--name", "iris")
    yield srv
    srv.stop()


def _split(rows: Any) -> dict[str, Any]:
    return {"columns": COLUMNS, "data": rows.to_numpy().tolist()}


def _approx(expected: list[Any]) -> Any:
    """Numbers compared to 1e-9 (records of them too), labels exactly."""
    if expected and isinstance(expected[0], str):
        return expected
    if expected and isinstance(expected[0], dict):
        return [pytest.approx(record, rel=1e-9) for record in expected]
    return pytest.approx(expected, rel=1e-9)


def _expected_mlflow(raw: Any, method: str, rows: Any) -> Any:
    """What the MLflow protocol answers: labels, one score per row, or records by class."""
    out = getattr(raw, method)(rows)
    if out.ndim == 1:
        return out.tolist()
    return [dict(zip(raw.classes_.tolist(), row)) for row in out.tolist()]


@pytest.mark.parametrize("method", ALL)
def test_mlflow_protocol_per_request(
    server: Server, classifier: Any, iris: Any, method: str
) -> None:
    raw, _ = classifier
    rows = iris[0].iloc[::15]
    body = {"dataframe_split": _split(rows), "params": {"predict_method": method}}
    resp = server.post("/invocations", body)
    assert resp.status == 200, resp.body
    expected = _expected_mlflow(raw, method, rows)
    assert resp.json() == {"predictions": _approx(expected)}


def test_mlflow_protocol_without_a_method_is_predict(
    server: Server, classifier: Any, iris: Any
) -> None:
    raw, _ = classifier
    rows = iris[0].head(3)
    resp = server.post("/invocations", {"dataframe_records": rows.to_dict(orient="records")})
    assert resp.json() == {"predictions": raw.predict(rows).tolist()}


@pytest.mark.parametrize("method", ["transform", "fit"])
def test_a_method_the_model_lacks_is_a_400_naming_those_it_has(
    server: Server, iris: Any, method: str
) -> None:
    body = {"dataframe_split": _split(iris[0].head(2)), "params": {"predict_method": method}}
    resp = server.post("/invocations", body)
    assert resp.status == 400
    assert resp.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": f"predict_method={method!r}: this model has no such method; it has "
        "predict, predict_proba, predict_log_proba, decision_function",
    }
    v2 = {
        "inputs": _v2_inputs(iris[0].head(2)),
        "parameters": {"predict_method": method},
    }
    resp = server.post("/v2/models/iris/infer", v2)
    assert resp.status == 400
    assert (
        "it has predict, predict_proba, predict_log_proba, decision_function"
        in (resp.json()["error"])
    )


def _v2_inputs(rows: Any) -> list[dict[str, Any]]:
    return [
        {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": rows[c].tolist()}
        for c in COLUMNS
    ]


@pytest.mark.parametrize("method", ["predict_proba", "predict_log_proba", "decision_function"])
def test_v2_parameter_gives_one_output_per_class(
    server: Server, classifier: Any, iris: Any, method: str
) -> None:
    raw, _ = classifier
    rows = iris[0].iloc[::10]
    body = {"inputs": _v2_inputs(rows), "parameters": {"predict_method": method}}
    resp = server.post("/v2/models/iris/infer", body)
    assert resp.status == 200, resp.body
    outputs = {o["name"]: o for o in resp.json()["outputs"]}
    assert list(outputs) == raw.classes_.tolist()
    expected = getattr(raw, method)(rows)
    for i, label in enumerate(raw.classes_):
        assert outputs[label]["shape"] == [len(rows)]
        assert outputs[label]["datatype"] == "FP64"
        np.testing.assert_allclose(outputs[label]["data"], expected[:, i], rtol=1e-9)


def test_concurrent_requests_with_different_methods_are_not_merged(
    server: Server, classifier: Any, iris: Any
) -> None:
    """The batcher merges requests only when their params (and so their method) agree."""
    raw, _ = classifier
    X = iris[0]
    results: dict[int, Any] = {}

    def call(i: int) -> None:
        method = ALL[i % len(ALL)]
        rows = X.iloc[i : i + 2]
        body = {"dataframe_split": _split(rows), "params": {"predict_method": method}}
        resp = server.post("/invocations", body)
        results[i] = (resp.status, resp.json(), _expected_mlflow(raw, method, rows))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 32
    for status, answer, expected in results.values():
        assert status == 200
        assert answer == {"predictions": _approx(expected)}


def test_server_default_method(classifier: Any, iris: Any, tmp_path: Path) -> None:
    raw, path = classifier
    rows = iris[0].iloc[::25]
    srv = start_server(path, tmp_path / "serve.log", "--name", "iris", "--predict-method",
                       "predict_proba")  # fmt: skip
    try:
        resp = srv.post("/invocations", {"dataframe_split": _split(rows)})
        assert resp.status == 200, resp.body
        expected = _expected_mlflow(raw, "predict_proba", rows)
        assert resp.json() == {"predictions": _approx(expected)}
        # a request's own method wins
        body = {"dataframe_split": _split(rows), "params": {"predict_method": "predict"}}
        assert srv.post("/invocations", body).json() == {"predictions": raw.predict(rows).tolist()}
        resp = srv.post("/v2/models/iris/infer", {"inputs": _v2_inputs(rows)})
        assert resp.status == 200, resp.body
        assert [o["name"] for o in resp.json()["outputs"]] == raw.classes_.tolist()
    finally:
        srv.stop()


def test_server_default_the_model_lacks_stops_the_server(iris: Any, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = iris
    path = tmp_path / "regressor"
    modelpack.save_model(LinearRegression().fit(X, y), path, input_example=X.head())
    srv = start_server(path, tmp_path / "serve.log", "--predict-method", "predict_proba",
                       wait=False)  # fmt: skip
    try:
        assert srv.proc.wait(120) != 0
        assert "predict_method='predict_proba': this model has no such method; it has predict" in (
            srv.log()
        )
    finally:
        srv.stop()


def test_the_batch_key_holds_the_method() -> None:
    """Parsed requests that ask for different methods never share a batch key."""
    from modelpack.serving._payload import parse_json

    def key(params: dict[str, Any] | None) -> Any:
        doc: dict[str, Any] = {"dataframe_records": [{"a": 1.0}]}
        if params is not None:
            doc["params"] = params
        return parse_json(json.dumps(doc).encode(), None).key

    proba, proba_again = (
        key({"predict_method": "predict_proba"}),
        key({"predict_method": "predict_proba"}),
    )
    assert proba == proba_again
    assert len({proba, key({"predict_method": "decision_function"}), key(None)}) == 3
