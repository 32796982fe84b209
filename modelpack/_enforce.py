"""Checking a table against the model's signature, converting what can be converted.

This is the per-call hot path of ``predict``: it only copies a column when a conversion is
needed, and caches its decisions per DataFrame layout. Reading the input into a table is
``_tables``' job.

Rules (the same in-process and in the server): a missing required column is an error naming
it; lossless conversions (int to double, int32 to int64, float32 to double, reordered columns)
happen silently; lossy or nonsense conversions are errors that name the column and both types;
extra columns are dropped (the caller warns). Values that come from Python or JSON (records,
dicts of lists) have no declared width, so a float into a ``float`` column or an integral float
into a ``long`` column is accepted there.
"""

from __future__ import annotations

import sys
from itertools import chain
from typing import Any

import numpy as np

from modelpack._signature import ColSpec, Schema, TensorSpec, dtype_type, is_dataframe, python_kind
from modelpack._tables import (
    Table,
    as_table,
    column_lists,
    frame_dtypes,
    python_array,
    read_column,
    reader_for,
)
from modelpack.exceptions import SchemaError

__all__ = ["ColumnEnforcer", "enforce_tensor"]

_INT_BITS = {"long": 64, "integer": 32}


def _found(arr: np.ndarray) -> str:
    if arr.dtype.kind == "O":
        kind = python_kind(arr.tolist())
        return f"{kind} values" if kind else "values of mixed types"
    name = dtype_type(arr.dtype)
    return f"{name} ({arr.dtype})" if name else str(arr.dtype)


def _lossy(name: str, target: str, arr: np.ndarray, why: str = "") -> SchemaError:
    detail = f" ({why})" if why else ""
    example = ""
    if arr.dtype.kind in "OUS" and len(arr):
        example = f", e.g. {arr[0]!r}"
    return SchemaError(
        f"column {name!r} expects {target} but got {_found(arr)}{example}{detail}", column=name
    )


def _unconvertible(name: str, target: str, values: list[Any]) -> SchemaError:
    """Why a column of Python values has no dtype: a null among booleans, or an integer
    beyond 64 bits; names the column and the first offending row."""
    for row, value in enumerate(values):
        if value is None:
            return SchemaError(
                f"column {name!r} expects {target} but row {row} is null; give a value "
                f"(a {target} column cannot hold nulls; a double column can, as NaN)",
                column=name,
            )
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            return SchemaError(
                f"column {name!r} expects {target} but row {row} holds {value}, beyond the "
                "64-bit integer range",
                column=name,
            )
    return _lossy(name, target, np.asarray(values, dtype=object))


def _coerce(name: str, arr: np.ndarray, target: str, from_python: bool) -> np.ndarray:
    """Return ``arr`` converted to ``target``'s dtype, or raise when that would lose meaning."""
    kind, size = arr.dtype.kind, arr.dtype.itemsize
    if kind == "O" and target not in ("string", "binary"):
        found = python_kind(arr.tolist())
        if found is None and target != "boolean" and all(v is None for v in arr):
            found = "double"
        if found in ("long", "double", "boolean"):
            values = arr.tolist()
            if target in _INT_BITS and any(v is None for v in values):
                raise _unconvertible(name, target, values)  # an integer column has no null
            if found == "double" and python_kind(values) is None:  # every value is null
                typed = np.full(len(values), np.nan)
            else:
                typed = python_array(values)
            if typed.dtype.kind == "O":  # still Python objects: converting again cannot help
                raise _unconvertible(name, target, values)
            return _coerce(name, typed, target, True)
        raise _lossy(name, target, arr)
    if target == "double":
        if kind == "f":
            return arr if size == 8 else arr.astype(np.float64)
        if kind in "iu":
            return arr.astype(np.float64)
    elif target == "float":
        if kind == "f" and (size <= 4 or from_python):
            return arr if size == 4 else arr.astype(np.float32)
        if kind in "iu" and (size <= 2 or from_python):
            return arr.astype(np.float32)
        if kind in "fiu":
            raise _lossy(name, target, arr, f"{arr.dtype} does not fit float32 exactly")
    elif target in _INT_BITS:
        bits, dtype = _INT_BITS[target], np.int64 if target == "long" else np.int32
        if kind in "iu":
            fits = size * 8 <= bits if kind == "i" else size * 8 < bits
            if fits or (from_python and _in_range(arr, dtype)):
                return arr if arr.dtype == dtype else arr.astype(dtype)
            raise _lossy(name, target, arr, f"{arr.dtype} values may not fit {np.dtype(dtype)}")
        if kind == "f":
            integral = (
                from_python and bool(np.all(np.isfinite(arr))) and np.all(arr == np.trunc(arr))
            )
            if integral and _in_range(arr, dtype):
                return arr.astype(dtype)
            missing = np.flatnonzero(np.isnan(arr))
            if from_python and missing.size:  # None read into a float column
                row = int(missing[0])
                raise SchemaError(
                    f"column {name!r} expects {target} but row {row} is null; give a "
                    f"value (a {target} column cannot hold nulls; a double column can, as NaN)",
                    column=name,
                )
            raise _lossy(name, target, arr, "converting it would drop the fractional part")
    elif target == "boolean":
        if kind == "b":
            return arr
    elif target in ("string", "binary"):
        want = str if target == "string" else (bytes, bytearray)
        if kind == ("U" if target == "string" else "S"):
            return arr.astype(object)
        if kind == "O" and (
            _all_of(arr, target) or all(v is None or isinstance(v, want) for v in arr.tolist())
        ):
            return arr
    elif target == "datetime":
        if kind == "M":
            return arr
        if kind in "OU":
            try:
                return arr.astype("datetime64[ns]")
            except (ValueError, TypeError):
                pass
    raise _lossy(name, target, arr)


def _all_of(arr: np.ndarray, target: str) -> bool:
    """True when pandas is loaded and says, at C speed, that every value of an object array is
    a str (or bytes); False means "check value by value" (None is allowed there)."""
    pd = sys.modules.get("pandas")
    if pd is None or len(arr) < 64:
        return False
    want = "string" if target == "string" else "bytes"
    return bool(pd.api.types.infer_dtype(arr, skipna=False) == want)


def _in_range(arr: np.ndarray, dtype: Any) -> bool:
    if not len(arr):
        return True
    info = np.iinfo(dtype)
    return bool(arr.min() >= info.min and arr.max() <= info.max)


_EXACT = {
    "double": np.dtype(np.float64),
    "float": np.dtype(np.float32),
    "long": np.dtype(np.int64),
    "integer": np.dtype(np.int32),
    "boolean": np.dtype(np.bool_),
}


def _dtype_ok(dtype: Any, target: str) -> bool:
    """True when a DataFrame column of ``dtype`` needs no conversion or value check."""
    if target == "string":
        return type(dtype).__name__ == "StringDtype"
    if target == "datetime":
        return getattr(dtype, "kind", "") == "M"
    want = _EXACT.get(target)
    return want is not None and dtype == want


_ABSENT = object()
# Python value types each column type takes as is in the records fast path (bool is not an int
# here: type() is compared exactly).
_RECORD_TYPES: dict[str, tuple[frozenset[type], bool]] = {
    "double": (frozenset({float, int}), True),
    "long": (frozenset({int}), False),
    "string": (frozenset({str}), False),
    "boolean": (frozenset({bool}), False),
}


def _record_checks(specs: list[ColSpec]) -> list[tuple[str, frozenset[type], bool]] | None:
    """Per column (name, accepted types, int to float), or None if a type needs numpy."""
    checks = []
    for spec in specs:
        if spec.type not in _RECORD_TYPES or not spec.required:
            return None
        types, to_float = _RECORD_TYPES[spec.type]
        checks.append((str(spec.name), types, to_float))
    return checks


class _FramePlan:
    """What to do with DataFrames of one column layout and dtypes (cached per layout)."""

    __slots__ = ("check", "dropped", "names", "numeric", "passthrough", "positions", "present")

    def __init__(
        self,
        present: list[str],
        check: list[ColSpec],
        dropped: list[str],
        passthrough: bool,
        numeric: bool,
        names: list[str],
    ) -> None:
        self.present = present
        self.check = check
        self.dropped = dropped
        self.passthrough = passthrough
        self.numeric = numeric
        # The schema's columns found in the frame, in schema order, and where they are.
        self.names = names
        where = {n: i for i, n in enumerate(present)}
        self.positions = [where[n] for n in names]


class ColumnEnforcer:
    """Checks and converts tabular input against a column schema (one per loaded model).

    Returns a :class:`Table` holding exactly the schema's columns in schema order (optional
    ones only when present) and the names of extra columns that were dropped. Decisions for a
    DataFrame layout are cached, so repeated calls with same-shaped frames cost microseconds.
    """

    _MAX_PLANS = 64

    def __init__(self, schema: Schema) -> None:
        self.specs: list[ColSpec] = schema.columns()
        self.names = [str(s.name) for s in self.specs]
        self._name_set = set(self.names)
        self.all_double = bool(self.specs) and all(
            s.type == "double" and s.required for s in self.specs
        )
        self._plans: dict[tuple[Any, ...], _FramePlan] = {}
        self._last_index: Any = None
        self._last_present: list[str] = []
        self._last_plan: tuple[list[str], list[Any], _FramePlan] | None = None
        self._records_layout: tuple[list[str], _FramePlan, list[Any], list[str]] | None = None
        self._record_checks = _record_checks(self.specs)

    def __call__(self, data: Any) -> tuple[Table, list[str]]:
        if self.all_double:
            fast = self._fast_numeric(data)
            if fast is not None:
                return fast
        table = as_table(data, self.names)
        if table.frame is not None:
            return self._frame(table.frame)
        return self._columns(table)

    # -- all-double signatures: straight to one float64 matrix, no pandas, no per-column work
    def _fast_numeric(self, data: Any) -> tuple[Table, list[str]] | None:
        names = self.names
        if type(data) is dict:  # columns of Python numbers: what the server parses a body to
            return self._fast_numeric_columns(data)
        if isinstance(data, list) and data and isinstance(data[0], dict):
            try:
                rows = [[r[n] for n in names] for r in data]
            except (KeyError, TypeError):
                return None  # the general path words the error
            if not set(map(type, chain.from_iterable(rows))) <= {float, int}:
                return None
            dropped: list[str] = []
            if any(len(r) != len(names) for r in data):
                dropped = list(dict.fromkeys(k for r in data for k in r if k not in self._name_set))
            matrix = np.array(rows, dtype=np.float64)
            return Table(matrix=matrix, names=names, numeric=True, from_python=True), dropped
        if (
            isinstance(data, np.ndarray)
            and data.ndim == 2
            and data.dtype.kind in "fiu"
            and data.shape[1] == len(names)
        ):
            matrix = data if data.dtype == np.float64 else data.astype(np.float64)
            return Table(matrix=matrix, names=names, numeric=True), []
        return None

    def _fast_numeric_columns(self, data: dict[Any, Any]) -> tuple[Table, list[str]] | None:
        try:
            cols = [data[n] for n in self.names]
        except KeyError:
            return None  # the general path names the missing column
        if any(type(c) is not list for c in cols) or len({len(c) for c in cols}) != 1:
            return None
        if not set(map(type, chain.from_iterable(cols))) <= {float, int}:
            return None
        dropped = [] if len(data) == len(cols) else [k for k in data if k not in self._name_set]
        # one row per line, as the general path lays it out (a copy only for several rows)
        matrix = np.ascontiguousarray(np.array(cols, dtype=np.float64).T)
        return Table(matrix=matrix, names=self.names, numeric=True, from_python=True), dropped

    def columns_records(self, data: Any) -> tuple[list[dict[str, Any]], list[str]] | None:
        """:meth:`records` for a dict of equally long lists (the server's parsed body)."""
        if type(data) is not dict or not data:
            return None
        cols = list(data.values())
        if any(type(c) is not list for c in cols) or len({len(c) for c in cols}) != 1:
            return None
        keys = list(data)
        return self.records([dict(zip(keys, row)) for row in zip(*cols)])

    def records(self, data: Any) -> tuple[list[dict[str, Any]], list[str]] | None:
        """Check dict records in plain Python, for a first stage that consumes records.

        Covers the common case only: every schema column in every record, each value of
        exactly the Python type its column holds. Anything else returns None and takes the
        general path, which converts what it can and words the errors; both give the same
        records for the inputs this accepts.
        """
        checks = self._record_checks
        if checks is None or not isinstance(data, list) or not data:
            return None
        out: list[dict[str, Any]] = []
        extra = False
        for record in data:
            if type(record) is not dict:
                return None
            row: dict[str, Any] = {}
            for name, types, to_float in checks:
                value = record.get(name, _ABSENT)
                kind = type(value)
                if kind not in types:
                    return None
                if kind is int:
                    if to_float:
                        value = float(value)
                    elif not -(1 << 63) <= value < 1 << 63:
                        return None
                row[name] = value
            extra = extra or len(record) != len(row)
            out.append(row)
        if not extra:
            return out, []
        return out, list(dict.fromkeys(k for r in data for k in r if k not in self._name_set))

    def _missing(self, present: set[str]) -> None:
        missing = [s.name for s in self.specs if s.required and s.name not in present]
        if missing:
            raise SchemaError(
                f"missing required column(s) {', '.join(map(repr, missing))}; the model expects "
                f"columns: {', '.join(self.names)}",
                column=str(missing[0]),
            )

    def _columns(self, table: Table) -> tuple[Table, list[str]]:
        assert table.columns is not None
        present = table.names
        self._missing(set(present))
        wanted = [s for s in self.specs if s.name in table.columns]
        dropped = [n for n in present if n not in self._name_set]
        cols = {
            str(s.name): _coerce(str(s.name), table.columns[str(s.name)], s.type, table.from_python)
            for s in wanted
        }
        return Table(columns=cols, nrows=table.nrows, from_python=table.from_python), dropped

    def frame_records(self, frame: Any) -> tuple[list[dict[str, Any]], list[str]] | None:
        """Records straight from a DataFrame that needs no conversion, for a first stage that
        consumes records; None when a column needs converting (the general path does it).

        The last layout's decisions are kept with the dtypes of the columns read, so a frame of
        the same layout (the common case: one request after another) only fetches its column
        arrays and compares dtypes. This path runs between calls into the model, so it touches
        as little pandas code as it can: cold code costs far more there than in a tight loop.
        """
        present = self._present(frame)
        cached = self._records_layout
        if cached is not None and cached[0] == present:
            _, plan, dtypes, readers = cached
            get = frame._get_column_array
            arrays = [get(i) for i in plan.positions]
            if all(a.dtype is d or a.dtype == d for a, d in zip(arrays, dtypes)):
                read = [read_column(a, how) for a, how in zip(arrays, readers)]
                names = plan.names
                return [dict(zip(names, row)) for row in zip(*read)], plan.dropped
        plan = self._plan_for(frame)
        if plan.check:
            return None
        lists = column_lists(frame, plan.positions)
        if lists is None:
            return None
        get = frame._get_column_array
        arrays = [get(i) for i in plan.positions]
        self._records_layout = (
            present,
            plan,
            [a.dtype for a in arrays],
            [reader_for(a) for a in arrays],
        )
        names = plan.names
        return [dict(zip(names, row)) for row in zip(*lists)], plan.dropped

    def _present(self, frame: Any) -> list[str]:
        index = frame.columns
        if index is not self._last_index:  # Index objects are immutable: identity is safe
            self._last_index = index
            self._last_present = [str(c) for c in index.tolist()]
        return self._last_present

    def _plan_for(self, frame: Any) -> _FramePlan:
        present = self._present(frame)
        dtypes = frame_dtypes(frame)
        last = self._last_plan
        # Same Index and the very same dtype objects as last time: skip hashing the key (some
        # pandas dtypes hash in Python, microseconds each).
        if (
            last is not None
            and last[0] is present
            and len(last[1]) == len(dtypes)
            and all(a is b for a, b in zip(last[1], dtypes))
        ):
            return last[2]
        key = (tuple(present), tuple(dtypes))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(frame, present, dtypes)
            if len(self._plans) >= self._MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        self._last_plan = (present, dtypes, plan)
        return plan

    def _frame(self, frame: Any) -> tuple[Table, list[str]]:
        plan = self._plan_for(frame)
        present = plan.present
        if plan.passthrough:
            return Table(frame=frame, names=present, numeric=plan.numeric), plan.dropped
        wanted = plan.names
        index = frame.columns
        out = frame.rename(columns=str) if any(not isinstance(c, str) for c in index) else frame
        out = out[wanted] if wanted != present else out.copy(deep=False)
        for spec in plan.check:
            name = str(spec.name)
            values = out[name].to_numpy()
            new = _coerce(name, values, spec.type, from_python=False)
            if new is not values:
                out[name] = new
        return Table(frame=out, names=wanted), plan.dropped

    def _plan(self, frame: Any, present: list[str], dtypes: list[Any]) -> _FramePlan:
        by_name = dict(zip(present, dtypes))
        self._missing(set(by_name))
        check = [
            s for s in self.specs if s.name in by_name and not _dtype_ok(by_name[s.name], s.type)
        ]
        dropped = [n for n in present if n not in self._name_set]
        layout_same = present == self.names and all(isinstance(c, str) for c in frame.columns)
        numeric = all(getattr(d, "kind", "O") in "biuf" for d in dtypes)
        names = [n for n in self.names if n in by_name]
        return _FramePlan(present, check, dropped, layout_same and not check, numeric, names)


def enforce_tensor(data: Any, spec: TensorSpec) -> np.ndarray:
    """Check and convert tensor input against a tensor spec."""
    if is_dataframe(data):
        arr = data.to_numpy()
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError) as e:
            raise SchemaError(f"cannot read the input as a {spec.dtype} tensor: {e}") from e
    want = np.dtype(spec.dtype)
    if arr.dtype != want:
        ok = np.can_cast(arr.dtype, want, casting="safe") or (
            arr.dtype.kind in "iu" and want.kind == "f"
        )
        if not ok:
            raise SchemaError(
                f"input tensor has dtype {arr.dtype} but the model expects {want}; converting "
                "would lose information"
            )
        arr = arr.astype(want)
    shape = spec.shape
    if arr.ndim == len(shape) - 1 and len(shape) >= 2:
        arr = arr.reshape(1, *arr.shape)
    if arr.ndim != len(shape) or any(s != -1 and s != a for s, a in zip(shape, arr.shape)):
        raise SchemaError(f"input tensor has shape {arr.shape} but the model expects {shape}")
    return arr
