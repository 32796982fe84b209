"""Client mistakes are 4xx JSON with one log line, never a 500 or a traceback (issue 13, 4 and 9).

A real ``modelpack serve`` of a LinearRegression on a ``double`` column ``a`` and a ``long``
column ``b``. Each case is a request a careless or hostile client sends; each must be answered
400 in the MLflow (or, under ``/v2``, the Open Inference) error format, naming the column at
fault, and must add exactly one line to the server's log: its access-log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from serving._helpers import Response, Server, request, save_numeric_model, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("serving-errors")
    srv = start_server(save_numeric_model(work / "numeric"), work / "server.log", "--name", "num")
    yield srv
    srv.stop()
    log = srv.log()
    assert "Traceback" not in log
    assert "RecursionError" not in log


def post_logged(server: Server, path: str, body: bytes | str, content_type: str) -> Response:
    """POST and return the answer, checking that the request logged its access-log line and
    nothing else (no warning, no traceback)."""
    before = len(server.log().splitlines())
    resp = request(server.port, "POST", path, body, content_type=content_type)
    mine = f'"path":"{path}","status":{resp.status},'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the access-log line follows the answer
        added = server.log().splitlines()[before:]
        if any(mine in line for line in added):
            break
        time.sleep(0.02)
    assert any(mine in line for line in added), added
    # an earlier request's access-log line may land here too; nothing else may
    assert all(line.startswith('{"time":') for line in added), added
    return resp


def assert_400(resp: Response, *fragments: str, v2: bool = False) -> None:
    assert resp.status == 400, resp.body
    assert resp.headers["content-type"] == "application/json"
    doc = resp.json()
    message = doc["error"] if v2 else doc["message"]
    if not v2:
        assert doc["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    for fragment in fragments:
        assert fragment in message, message


# ---------------------------------------------------------------------- NaN and inf in CSV
CSV_CASES = {
    "nan_in_double": ("a,b\nNaN,1\n", ["column 'a'", "NaN", "row 0"]),
    "inf_in_double": ("a,b\n1.5,2\ninf,1\n", ["column 'a'", "inf", "row 1"]),
    "minus_inf_in_double": ("a,b\n-inf,1\n", ["column 'a'", "-inf"]),
    "empty_cell_in_double": ("a,b\n,1\n", ["column 'a'", "NaN"]),
    "nan_in_long": ("a,b\n1.0,NaN\n", ["column 'b'", "long", "NaN"]),
    "inf_in_long": ("a,b\n1.0,inf\n", ["column 'b'", "long", "inf"]),
    "empty_cell_in_long": ("a,b\n1.0,\n", ["column 'b'", "long"]),
}


@pytest.mark.parametrize("case", list(CSV_CASES), ids=list(CSV_CASES))
def test_nan_and_inf_in_csv_are_client_errors(server: Server, case: str) -> None:
    body, fragments = CSV_CASES[case]
    assert_400(post_logged(server, "/invocations", body, "text/csv"), *fragments)


# --------------------------------------------------------------- records with differing keys
def test_records_missing_a_long_column_name_the_key(server: Server) -> None:
    doc = {"dataframe_records": [{"a": 1.0, "b": 1}, {"a": 2.0}]}
    resp = post_logged(server, "/invocations", json.dumps(doc), "application/json")
    assert_400(resp, "column 'b'", "record 1 has no 'b'")


def test_records_missing_a_double_column_name_the_key(server: Server) -> None:
    doc = {"dataframe_records": [{"a": 1.0, "b": 1}, {"b": 2}]}
    resp = post_logged(server, "/invocations", json.dumps(doc), "application/json")
    assert_400(resp, "column 'a'", "a null at row 1", "record 1 has no 'a'")


def test_records_with_an_extra_key_still_predict(server: Server) -> None:
    # extra columns are dropped, as in-process: a key only some records have is not an error
    doc = {"dataframe_records": [{"a": 1.0, "b": 1, "c": "x"}, {"a": 2.0, "b": 2}]}
    resp = request(server.port, "POST", "/invocations", doc)
    assert resp.status == 200, resp.body
    assert len(resp.json()["predictions"]) == 2


# -------------------------------------------------------------- nulls and out-of-range numbers
BIG = 2**63  # JSON allows integers up to 2**64 - 1; int64 stops one short of this
NULL_CASES: dict[str, tuple[Any, list[str]]] = {
    "null_double_column": ({"inputs": {"a": [None], "b": [1]}}, ["column 'a'", "null"]),
    "null_long_column": ({"inputs": {"a": [1.0], "b": [None]}}, ["column 'b'", "null"]),
    "nulls_in_records": (
        {"dataframe_records": [{"a": None, "b": 1}, {"a": None, "b": 2}]},
        ["column 'a'", "null"],
    ),
    "null_in_split": (
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, None]]}},
        ["column 'b'", "null"],
    ),
    "null_and_number_in_double": (
        {"inputs": {"a": [1.0, None], "b": [1, 2]}},
        ["column 'a'", "a null at row 1"],
    ),
    "uint64_in_long_column": ({"inputs": {"a": [1.0], "b": [BIG]}}, ["column 'b'", str(BIG)]),
    "uint64_in_double_column": ({"inputs": {"a": [BIG], "b": [1]}}, ["column 'a'", str(BIG)]),
    "max_json_int_in_records": (
        {"dataframe_records": [{"a": 1.0, "b": 2**64 - 1}]},
        ["column 'b'", "row 0"],
    ),
    "uint64_after_null": ({"inputs": {"a": [1.0, 2.0], "b": [None, BIG]}}, ["column 'b'"]),
}


@pytest.mark.parametrize("case", list(NULL_CASES), ids=list(NULL_CASES))
def test_nulls_and_out_of_range_integers_are_client_errors(server: Server, case: str) -> None:
    doc, fragments = NULL_CASES[case]
    resp = post_logged(server, "/invocations", json.dumps(doc), "application/json")
    assert_400(resp, *fragments)


def test_many_null_requests_leave_the_server_answering(server: Server) -> None:
    # each used to recurse about 1,000 frames deep and log a traceback
    body = json.dumps({"inputs": {"a": [None], "b": [1]}})
    for _ in range(50):
        assert request(server.port, "POST", "/invocations", body).status == 400
    ok = request(server.port, "POST", "/invocations", {"inputs": {"a": [1.0], "b": [1]}})
    assert ok.status == 200


# ------------------------------------------------------------------------- /v2 tensor shapes
def v2(shape: Any, data: Any, datatype: str = "FP64") -> str:
    tensor = {"name": "a", "shape": shape, "datatype": datatype, "data": data}
    return json.dumps({"inputs": [tensor, {**tensor, "name": "b", "datatype": "INT64"}]})


SHAPE_CASES = {
    "65_dimensions": (v2([1] * 65, [1.0]), ["65 dimensions"]),
    "2**63_by_0": (v2([BIG, 0], []), ["dimension 0", "9,223,372,036,854,775,808"]),
    "0_by_2**63": (v2([0, BIG], []), ["dimension 1"]),
    "negative": (v2([-1], [1.0]), ["non-negative"]),
    "huge_product": (v2([2**20, 2**20], [1.0]), ["more than the limit"]),
    "huge_dimension_beside_0": (v2([10**12, 0], []), ["dimension 0"]),
    "boolean_dimension": (v2([True], [1.0]), ["non-negative integers"]),
    "float_dimension": (v2([1.5], [1.0]), ["non-negative integers"]),
    "shape_not_a_list": (v2(3, [1.0]), ["'shape'"]),
    "size_mismatch": (v2([3], [1.0]), ["needs 3 values"]),
    "overflowing_fp16": (v2([1], [1e300], datatype="FP16"), ["range of FP16"]),
    "ragged_data": (v2([2, 2], [[1.0], [1.0, 2.0]]), ["cannot be read as a tensor"]),
}


@pytest.mark.parametrize("case", list(SHAPE_CASES), ids=list(SHAPE_CASES))
def test_bad_v2_shapes_are_client_errors(server: Server, case: str) -> None:
    body, fragments = SHAPE_CASES[case]
    resp = post_logged(server, "/v2/models/num/infer", body, "application/json")
    assert_400(resp, *fragments, v2=True)


def test_v2_null_in_a_number_tensor_is_a_client_error(server: Server) -> None:
    body = v2([2], [1.0, None])
    assert_400(post_logged(server, "/v2/models/num/infer", body, "application/json"), v2=True)
