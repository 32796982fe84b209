"""Parsing request bodies of the MLflow scoring protocol into what ``predict`` takes.

JSON bodies hold exactly one of ``dataframe_split``, ``dataframe_records``, ``instances`` or
``inputs``, plus optional ``params``. Tabular forms become a dict of columns (plain Python
lists), which ``PyFuncModel.predict`` checks against the signature exactly as it does
in-process, without building a DataFrame unless the model consumes one; arrays become numpy
arrays. (CSV and Parquet bodies are ``_frames``' job.) Each parsed request carries a batch key:
requests with equal keys have the same layout and may be merged into one ``predict`` call.

Every parser keeps to ``max_cells`` (see ``_limits``): it refuses with 413 before building what
the body would decode to whenever the format says the size up front, and checks the exact
count once parsed. Anything a client can send ends as a result or an :class:`HTTPError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from modelpack.serving._errors import HTTPError, bad_request
from modelpack.serving._limits import DEFAULT_MAX_CELLS, check_cells, check_json_values

if TYPE_CHECKING:
    from modelpack._signature import Schema

__all__ = [
    "PAYLOAD_KEYS",
    "Inputs",
    "array_inputs",
    "columns_inputs",
    "params_key",
    "parse_json",
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
    #: what the client may have meant, added to an error about this input
    note: str = ""


_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), "a scalar")


def params_key(params: dict[str, Any] | None) -> bytes:
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS) if params else b""


def parse_json(body: bytes, schema: Schema | None, *, max_cells: int = DEFAULT_MAX_CELLS) -> Inputs:
    """Parse an ``application/json`` scoring request."""
    check_json_values(body, max_cells)
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
    inputs = _PARSERS[key](doc[key], schema, key, max_cells)
    data = inputs.data
    if type(data) is dict:
        if inputs.rows * len(data) > max_cells:
            check_cells(inputs.rows, len(data), max_cells, key)
    elif data.size > max_cells:
        check_cells(data.size, 1, max_cells, key)
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


def _records_to_columns(records: list[Any], what: str, max_cells: int) -> Inputs:
    for i, record in enumerate(records):
        if type(record) is not dict:
            raise bad_request(
                f"{what} must be a list of JSON objects, one per row; item {i} is {_kind(record)}"
            )
    keys = list(records[0])
    if all(len(r) == len(keys) for r in records):
        try:  # the usual case: every record has the same keys
            return columns_inputs({k: [r[k] for r in records] for k in keys}, what)
        except KeyError:
            pass
    union: dict[str, None] = {}
    for record in records:
        union.update(dict.fromkeys(record))
    # Records with few keys each but many different ones would make a table far larger
    # than the body: refuse before building it.
    check_cells(len(records), len(union), max_cells, what)
    # a key absent from a record is a missing value there, as in-process (and in MLflow)
    inputs = columns_inputs({k: [r.get(k) for r in records] for k in union}, what)
    inputs.note = _missing_keys(records, union)
    return inputs


def _missing_keys(records: list[dict[str, Any]], union: dict[str, None]) -> str:
    for i, record in enumerate(records):
        missing = [k for k in union if k not in record]
        if missing:
            names = ", ".join(map(repr, missing[:5])) + (", ..." if len(missing) > 5 else "")
            return (
                f"the records do not all have the same keys: record {i} has no {names} "
                "(a missing key is read as a null)"
            )
    return ""


def _records(value: Any, schema: Schema | None, what: str, max_cells: int) -> Inputs:
    if not isinstance(value, list):
        raise bad_request(f"{what} must be a list of JSON objects, one per row; got {_kind(value)}")
    if not value:
        raise bad_request(f"{what} holds no rows")
    return _records_to_columns(value, what, max_cells)


def _split(value: Any, schema: Schema | None, what: str, max_cells: int) -> Inputs:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise bad_request(
            f"{what} must be an object with 'columns' (names) and 'data' (a list of rows)"
        )
    extra = set(value) - {"columns", "data", "index"}
    if extra:
        raise bad_request(f"unknown key(s) in {what}: {', '.join(sorted(extra))}")
    columns = value.get("columns")
    if columns is None:
        return _rows(value["data"], schema, f"{what}.data", max_cells)
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


def _rows(rows: Any, schema: Schema | None, what: str, max_cells: int) -> Inputs:
    """Unnamed rows: named by the signature's columns, or read as an array."""
    if not isinstance(rows, list):
        raise bad_request(f"{what} must be a list of rows; got {_kind(rows)}")
    if not rows:
        raise bad_request(f"{what} holds no rows")
    if all(type(r) is dict for r in rows):
        return _records_to_columns(rows, what, max_cells)
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
    except (ValueError, TypeError, OverflowError) as e:
        raise bad_request(
            f"{what} cannot be read as an array (rows of different lengths?): {e}"
        ) from None
    if arr.ndim == 0 or not len(arr):
        raise bad_request(f"{what} holds no rows")
    key = ("array", arr.shape[1:], arr.dtype.str) if arr.ndim >= 2 else None
    return Inputs(arr, len(arr), key)


def _inputs(value: Any, schema: Schema | None, what: str, max_cells: int) -> Inputs:
    if isinstance(value, list):
        return _rows(value, schema, what, max_cells)
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
