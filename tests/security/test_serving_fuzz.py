"""Fuzzing the request parsers in-process with Hypothesis (issue 13: no input escapes as a 500).

Any body, well-formed or not, must give either parsed inputs or an :class:`HTTPError` with a
4xx status; and through the whole app (parse, check, predict, encode) either 200 or a 4xx,
never a 500. Bounded: 200 examples per test, no deadline.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving._helpers import call_asgi, save_numeric_model, save_taxi_model, save_tensor_model

from modelpack.serving._errors import HTTPError
from modelpack.serving._frames import parse_csv, parse_parquet
from modelpack.serving._payload import PAYLOAD_KEYS, Inputs, parse_json
from modelpack.serving._v2 import infer_inputs

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
NAMES = ["a", "b", "PU_DO", "trip_distance", "x", ""]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, taxi: Any, taxi_dv_lr: Any) -> dict[str, Any]:
    import modelpack

    work = tmp_path_factory.mktemp("serving-fuzz")
    dirs: dict[str, Path] = {
        "numeric": save_numeric_model(work / "numeric"),
        "tensor": save_tensor_model(work / "tensor"),
        "taxi": save_taxi_model(work / "taxi", taxi, taxi_dv_lr),
    }
    return {name: modelpack.load_model(path) for name, path in dirs.items()}


def outcome(parse: Callable[[], Inputs]) -> None:
    """``parse()`` gives inputs or a 4xx HTTPError; anything else fails the test."""
    try:
        inputs = parse()
    except HTTPError as e:
        assert 400 <= e.status < 500, (e.status, e.message)
        assert e.message
    else:
        assert inputs.rows >= 0


# ------------------------------------------------------------------------------ strategies
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(NAMES)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=40,
)
columns = st.dictionaries(st.sampled_from(NAMES), st.lists(scalars, max_size=4), max_size=4)
records = st.lists(st.dictionaries(st.sampled_from(NAMES), scalars, max_size=4), max_size=4)
rows = st.lists(st.lists(scalars, max_size=4), max_size=4)
payloads = st.one_of(
    st.builds(lambda k, v: {k: v}, st.sampled_from(PAYLOAD_KEYS), values),
    st.builds(lambda v: {"inputs": v}, columns | rows),
    st.builds(lambda v: {"dataframe_records": v}, records),
    st.builds(lambda v: {"instances": v}, rows | records),
    st.builds(
        lambda c, d: {"dataframe_split": {"columns": c, "data": d}},
        st.lists(st.sampled_from(NAMES), max_size=3),
        rows,
    ),
    st.builds(lambda d, p: {**d, "params": p}, st.builds(lambda v: {"inputs": v}, columns), values),
    st.dictionaries(st.text(max_size=8), values, max_size=3),
    values,
)

# Near-valid tables for the test models' columns, so that predict runs and its errors are met.
cells = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.none(),
    st.booleans(),
    st.sampled_from(["43_151", "1_2", "", "x"]),
)
column_sets = st.sampled_from([["a", "b"], ["PU_DO", "trip_distance"], ["a"], ["a", "b", "c"]])


def _forms(table: dict[str, list[Any]], form: str) -> dict[str, Any]:
    names, n = list(table), len(next(iter(table.values())))
    if form == "inputs":
        return {"inputs": table}
    if form == "records":
        return {"dataframe_records": [{k: table[k][i] for k in names} for i in range(n)]}
    return {
        "dataframe_split": {
            "columns": names,
            "data": [[table[k][i] for k in names] for i in range(n)],
        }
    }


# each column mostly of one kind, so that some tables are valid and predict runs
column_kinds = st.sampled_from(
    [
        cells,
        st.floats(-1e6, 1e6) | st.integers(-1000, 1000),
        st.integers(-1000, 1000),
        st.sampled_from(["43_151", "1_2"]),
    ]
)
tables = st.tuples(column_sets, st.integers(1, 3)).flatmap(
    lambda nk: st.fixed_dictionaries(
        {
            name: column_kinds.flatmap(lambda kind: st.lists(kind, min_size=nk[1], max_size=nk[1]))
            for name in nk[0]
        }
    )
)
table_payloads = st.builds(_forms, tables, st.sampled_from(["inputs", "records", "split"]))
json_bodies = (
    st.builds(orjson.dumps, payloads | table_payloads)
    | st.builds(orjson.dumps, table_payloads)
    | st.binary(max_size=200)
)

datatypes = st.sampled_from(["BOOL", "INT8", "INT64", "UINT64", "FP16", "FP32", "FP64", "BYTES"])
shapes = st.lists(
    st.integers(min_value=-2, max_value=2**64 - 1) | st.sampled_from([0, 1, 2, 3]), max_size=4
) | st.lists(st.just(1), min_size=60, max_size=70)
tensors = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES), "shape": shapes | values, "datatype": datatypes | values},
    optional={"data": values | st.lists(scalars, max_size=6), "parameters": values},
)
v2_docs = st.fixed_dictionaries(
    {"inputs": st.lists(tensors, max_size=3) | values},
    optional={"parameters": values, "outputs": values, "id": values},
)


def _v2_tables(table: dict[str, list[Any]], datatypes: list[str]) -> dict[str, Any]:
    inputs = []
    for (name, column), datatype in zip(table.items(), datatypes):
        inputs.append({"name": name, "shape": [len(column)], "datatype": datatype, "data": column})
    return {"inputs": inputs}


v2_tables = st.builds(
    _v2_tables,
    tables,
    st.lists(datatypes, min_size=3, max_size=3)
    | st.lists(st.sampled_from(["FP64", "INT64", "BYTES"]), min_size=3, max_size=3),
)
v2_tensors = st.integers(1, 3).flatmap(
    lambda n: st.builds(
        lambda data, dt: {"inputs": [{"name": "x", "shape": [n, 3], "datatype": dt, "data": data}]},
        st.lists(cells, min_size=3 * n, max_size=3 * n),
        datatypes,
    )
)
v2_bodies = st.builds(orjson.dumps, v2_docs | v2_tables | v2_tensors) | json_bodies


# ------------------------------------------------------------------------------ parsers
@FUZZ
@given(body=json_bodies, which=st.sampled_from(["numeric", "tensor", "taxi", None]))
def test_parse_json_gives_inputs_or_a_client_error(
    models: dict[str, Any], body: bytes, which: str | None
) -> None:
    schema = models[which].input_schema if which else None
    outcome(lambda: parse_json(body, schema, max_cells=50))


@FUZZ
@given(body=v2_bodies, which=st.sampled_from(["numeric", "tensor", "taxi"]))
def test_v2_infer_inputs_gives_inputs_or_a_client_error(
    models: dict[str, Any], body: bytes, which: str
) -> None:
    outcome(lambda: infer_inputs(body, models[which], max_cells=50)[0])


csv_cells = st.sampled_from(["1", "-2.5", "NaN", "inf", "", "x", '"a,b"', "9223372036854775808"])
csv_bodies = st.builds(
    lambda header, body: (",".join(header) + "\n" + "\n".join(",".join(r) for r in body)).encode(),
    st.lists(st.sampled_from(NAMES) | st.text(max_size=3), max_size=4) | column_sets,
    st.lists(st.lists(csv_cells, max_size=5), max_size=5)
    | st.lists(st.lists(csv_cells, min_size=2, max_size=2), min_size=1, max_size=3),
) | st.binary(max_size=200)


@FUZZ
@given(body=csv_bodies, which=st.sampled_from(["numeric", "taxi", None]))
def test_parse_csv_gives_inputs_or_a_client_error(
    models: dict[str, Any], body: bytes, which: str | None
) -> None:
    schema = models[which].input_schema if which else None
    outcome(lambda: parse_csv(body, schema, max_cells=max(1, len(body) // 4)))


def _parquet(table: dict[str, list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(table), buf)
    return buf.getvalue()


column_values = (
    st.lists(st.floats(allow_nan=True) | st.none(), min_size=1, max_size=5)
    | st.lists(st.text(max_size=5) | st.none(), min_size=1, max_size=5)
    | st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=5)
    | st.lists(st.booleans() | st.none(), min_size=1, max_size=5)
    | st.lists(st.none(), min_size=1, max_size=5)
)
parquet_bodies = st.builds(
    lambda cols: _parquet({k: v[: min(map(len, cols.values()))] for k, v in cols.items()}),
    st.dictionaries(st.sampled_from(NAMES[:5]), column_values, min_size=1, max_size=3),
) | st.binary(max_size=300)


@FUZZ
@given(
    body=parquet_bodies,
    which=st.sampled_from(["numeric", "taxi", None]),
    cells=st.integers(1, 20),
    size=st.integers(1, 400),
)
def test_parse_parquet_gives_inputs_or_a_client_error(
    models: dict[str, Any], body: bytes, which: str | None, cells: int, size: int
) -> None:
    schema = models[which].input_schema if which else None
    outcome(lambda: parse_parquet(body, schema, max_cells=cells, max_bytes=size))


# ------------------------------------------------------------------------------ the whole app
CONTENT = {
    "json": (b"application/json", "/invocations"),
    "v2": (b"application/json", "/v2/models/m/infer"),
    "csv": (b"text/csv", "/invocations"),
    "parquet": (b"application/vnd.apache.parquet", "/invocations"),
}


@pytest.mark.filterwarnings("ignore:ignoring input column")  # extra columns are dropped
@FUZZ
@given(
    which=st.sampled_from(["numeric", "tensor", "taxi"]),
    kind_and_body=st.one_of(
        st.tuples(st.just("json"), json_bodies),
        st.tuples(st.just("v2"), v2_bodies),
        st.tuples(st.just("csv"), csv_bodies),
        st.tuples(st.just("parquet"), parquet_bodies),
    ),
)
def test_the_app_answers_200_or_a_client_error_never_500(
    models: dict[str, Any], apps: dict[str, Any], which: str, kind_and_body: tuple[str, bytes]
) -> None:
    kind, body = kind_and_body
    mime, path = CONTENT[kind]
    resp = call_asgi(apps[which], "POST", path, body, headers=[(b"content-type", mime)])
    assert resp.status == 200 or 400 <= resp.status < 500, (resp.status, resp.body)
    json.loads(resp.body)


@pytest.fixture(scope="module")
def apps(models: dict[str, Any]) -> dict[str, Any]:
    from modelpack.serving import create_app

    return {
        name: create_app(model, name="m", access_log=False, max_cells=200, batching=False)
        for name, model in models.items()
    }
