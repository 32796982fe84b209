"""The 1-row request path: its shortcuts give what the general path gives, and skip nothing.

A request alone in the process is predicted without the batch queue; the columns a JSON body is
parsed to go to a float matrix (all-double signatures) or to records (a DictVectorizer) without
building a table; access log lines of one loop turn are written together.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.exceptions import SchemaError
from modelpack.serving import create_app
from modelpack.serving._batching import Batcher
from modelpack.serving._payload import parse_json

from ._helpers import call_asgi

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def doubles(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A LinearRegression on 3 double columns, fitted on an array (as the benchmark's)."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    lr = LinearRegression().fit(x, x @ [1.0, 2.0, 3.0] + 0.5)
    path = tmp_path_factory.mktemp("hot") / "doubles"
    modelpack.save_model(lr, path, input_example=pd.DataFrame(x[:3], columns=["a", "b", "c"]))
    return modelpack.load_model(path)


def _split(columns: list[str], rows: list[list[Any]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()


# ------------------------------------------------------------------ columns to a matrix
@pytest.mark.parametrize(
    "rows",
    [[[0.1, -1.2, 0.7]], [[1, 2, 3], [0.5, 0, -2]], [[1e300, -0.0, 7]]],
    ids=["one-row", "ints-and-floats", "extremes"],
)
def test_double_columns_match_the_frame_path(doubles: Any, rows: list[list[Any]]) -> None:
    import pandas as pd

    inputs = parse_json(_split(["a", "b", "c"], rows), doubles.input_schema)
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=float)
    records = frame.to_dict(orient="records")
    np.testing.assert_array_equal(doubles.predict(inputs.data), doubles.predict(records))
    np.testing.assert_allclose(doubles.predict(inputs.data), doubles.predict(frame), rtol=1e-12)
    matrix = doubles.prepare(inputs.data)
    assert matrix.dtype == np.float64 and matrix.flags.c_contiguous
    assert matrix.tolist() == frame.to_numpy().tolist()


def test_double_columns_in_another_order_and_with_extras(doubles: Any) -> None:
    columns = {"c": [0.7], "zzz": ["x"], "a": [0.1], "b": [-1.2]}
    want = doubles.predict([{"a": 0.1, "b": -1.2, "c": 0.7}])
    with pytest.warns(UserWarning, match="ignoring input column.*zzz"):
        got = doubles.predict(columns)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"a": [True], "b": [1.0], "c": [1.0]}, "column 'a' expects double"),
        ({"a": ["1.0"], "b": [1.0], "c": [1.0]}, "column 'a' expects double but got string"),
        ({"a": [1.0], "b": [1.0]}, "missing required column.*'c'"),
    ],
    ids=["bool", "string", "missing"],
)
def test_double_columns_still_checked(doubles: Any, columns: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        doubles.predict(columns)


def test_null_in_double_column_is_nan_as_before(doubles: Any) -> None:
    """A null takes the general path, which reads it as NaN in a double column."""
    import pandas as pd

    got = doubles.prepare({"a": [None], "b": [1.0], "c": [2.0]})
    want = doubles.prepare(pd.DataFrame({"a": [np.nan], "b": [1.0], "c": [2.0]}))
    assert np.isnan(got[0, 0]) and np.isnan(want[0, 0])


# ------------------------------------------------------------------ columns to records
@pytest.mark.parametrize(
    "rows",
    [[["43_151", 1.8]], [["1_2", 3], ["7_9", 0.5]]],
    ids=["one-row", "int-distance"],
)
def test_taxi_columns_match_records(taxi_model: Any, rows: list[list[Any]]) -> None:
    body = _split(["PU_DO", "trip_distance"], rows)
    inputs = parse_json(body, taxi_model.input_schema)
    records = [{"PU_DO": r[0], "trip_distance": r[1]} for r in rows]
    np.testing.assert_array_equal(taxi_model.predict(inputs.data), taxi_model.predict(records))
    assert taxi_model.prepare(inputs.data) == [
        {"PU_DO": r[0], "trip_distance": float(r[1])} for r in rows
    ]


def test_taxi_columns_still_checked(taxi_model: Any) -> None:
    with pytest.raises(SchemaError, match="trip_distance"):
        taxi_model.predict({"PU_DO": ["1_2"], "trip_distance": ["far"]})
    with pytest.raises(SchemaError, match="missing required column"):
        taxi_model.predict({"PU_DO": ["1_2"]})


# ------------------------------------------------------------------ a request alone
def _submit_state(batcher: Batcher, inputs: Any) -> tuple[bool, Any]:
    """(True, outcome) if ``submit`` finished without yielding to the loop, else (False, None)."""

    async def run() -> tuple[bool, Any]:
        coro = batcher.submit(inputs)
        try:
            coro.send(None)
        except StopIteration as done:
            return True, done.value
        coro.close()
        return False, None

    return asyncio.run(run())


def test_a_request_alone_is_predicted_at_once(taxi_model: Any) -> None:
    sizes: list[tuple[int, int]] = []
    batcher = Batcher(
        taxi_model.predict,
        max_rows=64,
        max_latency=0.0,
        on_batch=lambda r, n: sizes.append((r, n)),
        alone=lambda: True,
    )
    inputs = parse_json(_split(["PU_DO", "trip_distance"], [["1_2", 2.0]]), None)
    finished, (ok, out) = _submit_state(batcher, inputs)
    assert finished and ok
    np.testing.assert_array_equal(out, taxi_model.predict([{"PU_DO": "1_2", "trip_distance": 2.0}]))
    assert sizes == [(1, 1)]  # counted in the batch metrics like any other call


@pytest.mark.parametrize(
    ("alone", "latency", "complete"),
    [(False, 0.0, True), (None, 0.0, True), (True, 0.05, False)],
    ids=["not-alone", "not-counted", "waits-for-companions"],
)
def test_other_requests_queue(taxi_model: Any, alone: Any, latency: float, complete: bool) -> None:
    batcher = Batcher(
        taxi_model.predict,
        max_rows=64,
        max_latency=latency,
        complete=lambda queued: complete,
        alone=None if alone is None else (lambda: alone),
    )
    inputs = parse_json(_split(["PU_DO", "trip_distance"], [["1_2", 2.0]]), None)
    finished, _ = _submit_state(batcher, inputs)
    assert not finished


def test_app_dispatches_a_lone_request_only_when_the_server_counts(taxi_dir: Path) -> None:
    app = create_app(taxi_dir, access_log=False)
    served = app.table.default_entry().served  # type: ignore[union-attr]
    calls: list[int] = []
    batcher = served.batcher
    assert batcher is not None
    original = batcher._run_batch
    batcher._run_batch = lambda items: calls.append(len(items)) or original(items)  # type: ignore[method-assign]
    body = _split(["PU_DO", "trip_distance"], [["1_2", 2.0]])
    headers = [(b"content-type", b"application/json")]
    assert call_asgi(app, "POST", "/invocations", body, headers=headers).status == 200
    app.pending = lambda: 1
    assert call_asgi(app, "POST", "/invocations", body, headers=headers).status == 200
    app.pending = lambda: 3
    assert not app._alone()
    assert calls == [1, 1]


# ------------------------------------------------------------------ access log
def test_access_log_lines_of_one_turn_are_written_together(taxi_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app(taxi_dir, access_log=True)
    writes: list[bytes] = []
    app._log = writes.append
    body = _split(["PU_DO", "trip_distance"], [["1_2", 2.0]])
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/invocations",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
    }

    async def one() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        await app(dict(scope), receive, send)

    async def run() -> None:
        await asyncio.gather(*(one() for _ in range(5)))
        await asyncio.sleep(0)

    asyncio.run(run())
    lines = b"".join(writes).splitlines()
    assert len(lines) == 5
    assert len(writes) < 5
    assert all(len(w) <= 4096 for w in writes)
    for line in lines:
        entry = json.loads(line)
        assert entry["status"] == 200 and entry["path"] == "/invocations"
        assert entry["time"].endswith("Z") and len(entry["time"]) == len("2026-01-01T00:00:00.000Z")
