"""Parsing request bodies of the MLflow scoring protocol into what ``predict`` takes.

JSON bodies hold exactly one of ``dataframe_split``, ``dataframe_records``, ``instances`` or
``inputs``, plus optional ``params``. Tabular forms become a dict of columns (plain Python
lists), which ``PyFuncModel.predict`` checks against the signature exactly as it does
in-process, without building a DataFrame unless the model consumes one; arrays become numpy
arrays. CSV and Parquet bodies are read with pandas. Each parsed request carries a batch key:
requests with equal keys have the same layout and may be merged into one ``predict`` call.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from modelpack._optional import require
from modelpack.exceptions import MissingDependencyError
from modelpack.serving._errors import HTTPError, bad_request

if TYPE_CHECKING:
    from modelpack._signature import Schema

__all__ = [
    "PAYLOAD_KEYS",
    "Inputs",
    "array_inputs",
    "columns_inputs",
    "params_key",
    "parse_csv",
    "parse_json",
    "parse_parquet",
]

PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_EXPECTED = f"a JSON object with exactly one of {', '.join(PAYLOAD_KEYS)} (and optional params)"


@dataclass
class Inputs:
    """One request's model input, its row count and how it may be batched."""

    data: Any
    rows: int
    #: requests with equal keys may be merged into one predict call; None: never merged
    key: tuple[Any, ...] | None
    params: dict[str, Any] | None = None


_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), "a scalar")


def params_key(params: dict[str, Any] | None) -> bytes:
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS) if params else b""


def parse_json(body: bytes, schema: Schema | None) -> Inputs:
    """Parse an ``application/json`` scoring request."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise HTTPError(400, "MALFORMED_REQUEST", f"the body is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise bad_request(f"expected {_EXPECTED}; got {_kind(doc)}")
    found = [k for k in doc if k in PAYLOAD_KEYS]
    unknown = [k for k in doc if k not in PAYLOAD_KEYS and k != "params"]
    if unknown:
        raise bad_request(
            f"unknown key(s) {', '.join(map(repr, unknown))} in the body; expected {_EXPECTED}"
        )
    if len(found) != 1:
        got = f"several: {', '.join(found)}" if found else "none of them"
        raise bad_request(f"expected {_EXPECTED}; got {got}")
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise bad_request(
            f"params must be a JSON object of parameter names to values, not {_kind(params)}"
        )
    key = found[0]
    inputs = _PARSERS[key](doc[key], schema, key)
    inputs.params = params or None
    if inputs.key is not None and params:
        inputs.key = (*inputs.key, params_key(params))
    return inputs


# ------------------------------------------------------------------------- tabular forms
def columns_inputs(cols: dict[str, Any], what: str) -> Inputs:
    """Inputs from a dict of equally long columns (lists or 1-D arrays)."""
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise bad_request(f"{what}: columns have different lengths {sorted(lengths)}")
    rows = lengths.pop() if lengths else 0
    if not rows:
        raise bad_request(f"{what} holds no rows")
    return Inputs(cols, rows, ("columns", *cols))


def _records_to_columns(records: list[Any], what: str) -> dict[str, list[Any]]:
    for i, record in enumerate(records):
        if type(record) is not dict:
            raise bad_request(
                f"{what} must be a list of JSON objects, one per row; item {i} is {_kind(record)}"
            )
    keys = list(records[0])
    if all(len(r) == len(keys) for r in records):
        try:  # the usual case: every record has the same keys
            return {k: [r[k] for r in records] for k in keys}
        except KeyError:
            pass
    union: dict[str, None] = {}
    for record in records:
        union.update(dict.fromkeys(record))
    # a key absent from a record is a missing value there, as in-process
    return {k: [r.get(k) for r in records] for k in union}


def _records(value: Any, schema: Schema | None, what: str) -> Inputs:
    if not isinstance(value, list):
        raise bad_request(f"{what} must be a list of JSON objects, one per row; got {_kind(value)}")
    if not value:
        raise bad_request(f"{what} holds no rows")
    return columns_inputs(_records_to_columns(value, what), what)


def _split(value: Any, schema: Schema | None, what: str) -> Inputs:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise bad_request(
            f"{what} must be an object with 'columns' (names) and 'data' (a list of rows)"
        )
    extra = set(value) - {"columns", "data", "index"}
    if extra:
        raise bad_request(f"unknown key(s) in {what}: {', '.join(sorted(extra))}")
    columns = value.get("columns")
    if columns is None:
        return _rows(value["data"], schema, f"{what}.data")
    if not isinstance(columns, list) or len(set(map(str, columns))) != len(columns):
        raise bad_request(f"{what}.columns must be a list of distinct column names")
    return _named_rows(value["data"], [str(c) for c in columns], f"{what}.data")


def _named_rows(rows: list[Any], names: list[str], what: str) -> Inputs:
    if not rows:
        raise bad_request(f"{what} holds no rows")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            got = f"{len(row)} values" if isinstance(row, list) else _kind(row)
            raise bad_request(
                f"{what}: row {i} has {got}, expected a list of {len(names)} values for "
                f"columns {', '.join(names)}"
            )
    cols = {name: list(col) for name, col in zip(names, zip(*rows))}
    return Inputs(cols, len(rows), ("columns", *cols))


def _rows(rows: Any, schema: Schema | None, what: str) -> Inputs:
    """Unnamed rows: named by the signature's columns, or read as an array."""
    if not isinstance(rows, list):
        raise bad_request(f"{what} must be a list of rows; got {_kind(rows)}")
    if not rows:
        raise bad_request(f"{what} holds no rows")
    if all(type(r) is dict for r in rows):
        return columns_inputs(_records_to_columns(rows, what), what)
    if schema is not None and schema.has_names and not schema.is_tensor:
        names = schema.names
        if len(names) == 1 and not any(isinstance(r, (list, dict)) for r in rows):
            return Inputs({names[0]: rows}, len(rows), ("columns", names[0]))
        return _named_rows(rows, names, what)
    return array_inputs(rows, what)


def array_inputs(values: Any, what: str, dtype: Any = None) -> Inputs:
    """Inputs from nested lists read as one numpy array (tensor models, no signature)."""
    import numpy as np

    try:
        arr = np.asarray(values, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise bad_request(
            f"{what} cannot be read as an array (rows of different lengths?): {e}"
        ) from None
    if arr.ndim == 0 or not len(arr):
        raise bad_request(f"{what} holds no rows")
    key = ("array", arr.shape[1:], arr.dtype.str) if arr.ndim >= 2 else None
    return Inputs(arr, len(arr), key)


def _inputs(value: Any, schema: Schema | None, what: str) -> Inputs:
    if isinstance(value, list):
        return _rows(value, schema, what)
    if not isinstance(value, dict) or not value:
        raise bad_request(
            f"{what} must be an object of columns or a list of rows; got {_kind(value)}"
        )
    if schema is not None and schema.is_tensor:
        if len(value) != 1:
            raise bad_request(
                f"{what} names {len(value)} tensors, but this model takes one tensor input"
            )
        return array_inputs(next(iter(value.values())), what)
    if not any(isinstance(v, list) for v in value.values()):  # one record
        return columns_inputs({str(k): [v] for k, v in value.items()}, what)
    for name, col in value.items():
        if not isinstance(col, list):
            raise bad_request(f"{what}: column {name!r} must be a list of values, not {_kind(col)}")
    return columns_inputs({str(k): v for k, v in value.items()}, what)


_PARSERS = {
    "dataframe_records": _records,
    "dataframe_split": _split,
    "instances": _rows,
    "inputs": _inputs,
}


# ----------------------------------------------------------------------- CSV and Parquet
@contextmanager
def _refused_without_library(what: str) -> Iterator[None]:
    """Answer 415, naming the extra, when a library that reads ``what`` bodies is missing.

    pandas and pyarrow ship with the ``serve`` extra; a server installed without them still
    answers JSON.
    """
    try:
        yield
    except MissingDependencyError as e:
        message = f"this server cannot read {what}: {e}"
        raise HTTPError(415, "UNSUPPORTED_MEDIA_TYPE", message) from None


def parse_csv(body: bytes, schema: Schema | None) -> Inputs:
    """Parse a ``text/csv`` body (a header row, then one row per line)."""
    with _refused_without_library("CSV"):
        pd = require("pandas", "serve", purpose="reading CSV request bodies")

    # String columns are read as text, so "007" stays "007" rather than becoming 7.
    dtype = {c.name: str for c in schema.columns() if c.type == "string"} if schema else {}
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=dtype or None)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise HTTPError(400, "MALFORMED_REQUEST", f"cannot read the body as CSV: {e}") from None
    if not len(frame):
        raise bad_request("the CSV body holds no rows")
    return Inputs(frame, len(frame), None)


def parse_parquet(body: bytes) -> Inputs:
    """Parse an ``application/vnd.apache.parquet`` body."""
    with _refused_without_library("Parquet"):
        pd = require("pandas", "serve", purpose="reading Parquet request bodies")
        require("pyarrow", "serve", purpose="reading Parquet request bodies")  # pandas' engine

    try:
        frame = pd.read_parquet(io.BytesIO(body))
    except Exception as e:  # pyarrow raises its own error types
        raise HTTPError(400, "MALFORMED_REQUEST", f"cannot read the body as Parquet: {e}") from None
    return Inputs(frame, len(frame), None)
