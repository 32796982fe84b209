"""Turning caller input into a checked table, and the table into what a model consumes.

This is the per-call hot path of ``predict``, so it avoids pandas unless the caller passed a
DataFrame or the model needs one, and it only copies a column when a conversion is needed.

Rules (the same in-process and in the server): a missing required column is an error naming
it; lossless conversions (int to double, int32 to int64, float32 to double, reordered columns)
happen silently; lossy or nonsense conversions are errors that name the column and both types;
extra columns are dropped (the caller warns). Values that come from Python or JSON (records,
dicts of lists) have no declared width, so a float into a ``float`` column or an integral float
into a ``long`` column is accepted there.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from modelpack._signature import (
    ColSpec,
    Schema,
    TensorSpec,
    _dtype_type,
    is_dataframe,
    python_kind,
)
from modelpack.exceptions import SchemaError

__all__ = ["ColumnEnforcer", "Table", "as_table", "enforce_tensor"]


class Table:
    """Tabular input in one of three layouts.

    ``frame``: a pandas DataFrame (as the caller passed it, or converted); ``columns``: a dict
    of 1-D numpy arrays; ``matrix``: one 2-D numpy array with ``names`` for its columns (the
    fast layout for all-numeric signatures, built without pandas).
    """

    __slots__ = ("_names", "columns", "frame", "from_python", "matrix", "nrows", "numeric")

    def __init__(
        self,
        *,
        frame: Any = None,
        columns: dict[str, np.ndarray] | None = None,
        matrix: np.ndarray | None = None,
        names: list[str] | None = None,
        nrows: int = 0,
        from_python: bool = False,
        numeric: bool | None = None,
    ) -> None:
        self.frame = frame
        self.columns = columns
        self.matrix = matrix
        self._names = names
        if frame is not None:
            nrows = len(frame)
        elif matrix is not None:
            nrows = matrix.shape[0]
        self.nrows = nrows
        self.from_python = from_python
        self.numeric = numeric

    @property
    def names(self) -> list[str]:
        if self._names is None:
            if self.frame is not None:
                self._names = [str(c) for c in self.frame.columns.tolist()]
            else:
                assert self.columns is not None
                self._names = list(self.columns)
        return self._names

    @property
    def is_numeric(self) -> bool:
        if self.numeric is None:
            if self.matrix is not None:
                self.numeric = self.matrix.dtype.kind in "biuf"
            elif self.frame is not None:
                self.numeric = all(getattr(d, "kind", "O") in "biuf" for d in _dtypes(self.frame))
            else:
                assert self.columns is not None
                self.numeric = all(c.dtype.kind in "biuf" for c in self.columns.values())
        return self.numeric

    def to_frame(self) -> Any:
        if self.frame is not None:
            return self.frame
        import pandas as pd

        if self.matrix is not None:
            return pd.DataFrame(self.matrix, columns=_index_for(self.names), copy=False)
        assert self.columns is not None
        cols = list(self.columns.values())
        if cols and len({c.dtype for c in cols}) == 1 and cols[0].dtype.kind in "biuf":
            # One block instead of one per column: far cheaper for wide inputs.
            return pd.DataFrame(self.to_matrix(), columns=self.names, copy=False)
        return pd.DataFrame(self.columns, copy=False)

    def to_records(self) -> list[dict[str, Any]]:
        names = self.names
        if self.matrix is not None:
            rows = self.matrix.tolist()
        elif self.frame is not None:
            # DataFrame.to_dict("records") is very slow on wide frames, and to_numpy(object)
            # interleaves mixed dtypes through one object matrix; one list per column is cheaper.
            lists = _column_lists(self.frame)
            rows = zip(*lists) if lists is not None else self.frame.to_numpy(dtype=object).tolist()
        else:
            assert self.columns is not None
            rows = zip(*(c.tolist() for c in self.columns.values()))
        return [dict(zip(names, row)) for row in rows]

    def to_matrix(self) -> np.ndarray:
        """A 2-D array (numeric dtype when every column is numeric)."""
        if self.matrix is not None:
            return self.matrix
        if self.frame is not None:
            return self.frame.to_numpy()
        assert self.columns is not None
        cols = list(self.columns.values())
        if not cols:
            return np.empty((self.nrows, 0))
        dtype = np.result_type(*cols) if all(c.dtype.kind in "biuf" for c in cols) else object
        out = np.empty((self.nrows, len(cols)), dtype=dtype)
        for i, col in enumerate(cols):
            out[:, i] = col
        return out


_INDEXES: dict[int, tuple[list[str], Any]] = {}


def _index_for(names: list[str]) -> Any:
    """The pandas Index of a signature's column names, built once per names list.

    Building an Index from 300 strings costs about 100 µs, more than the rest of enforcement;
    the enforcer passes the same list on every call, so its Index is reused (Indexes are
    immutable, so frames may share one).
    """
    hit = _INDEXES.get(id(names))
    if hit is not None and hit[0] is names:
        return hit[1]
    import pandas as pd

    index = pd.Index(names)
    if len(_INDEXES) >= 64:
        _INDEXES.clear()
    _INDEXES[id(names)] = (names, index)
    return index


def _column_lists(frame: Any, positions: Sequence[int] | None = None) -> list[list[Any]] | None:
    """Columns of a DataFrame (all, or those at ``positions``) as Python lists holding what
    ``DataFrame.to_dict("records")`` holds (``pd.NA`` becomes None), or None when pandas must
    box the values (datetimes, which ``tolist`` on the raw array would turn into integers)."""
    get = getattr(frame, "_get_column_array", None)
    if get is None:  # pragma: no cover - other pandas internals
        return None
    lists = []
    for i in range(frame.shape[1]) if positions is None else positions:
        values = get(i)
        dtype = values.dtype
        if getattr(dtype, "kind", "O") in "mM":
            return None
        na = getattr(dtype, "na_value", np.nan)
        masked = type(na).__name__ == "NAType"
        column = _arrow_strings(values, masked)
        if column is None:
            column = values.tolist()
            if masked and values.isna().any():
                column = [None if v is na else v for v in column]
        lists.append(column)
    return lists


def _arrow_strings(values: Any, masked: bool) -> list[Any] | None:
    """An Arrow-backed string column as a list of str (None for missing values), read
    straight from Arrow: pandas' own ``tolist`` boxes each value through numpy, several times
    slower. None for anything else, and for NaN-semantics columns with missing values (they
    hold NaN there, which pandas' route gives)."""
    chunked = getattr(values, "_pa_array", None)
    if chunked is None or (chunked.null_count and not masked):
        return None
    pa = sys.modules.get("pyarrow")
    kind = chunked.type
    if pa is None or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    out: list[Any] = chunked.to_pylist()
    return out


def _reader_for(values: Any) -> str:
    """How :func:`_read_column` reads columns of this array's dtype (decided once per layout,
    only for dtypes :func:`_column_lists` reads without boxing)."""
    masked = type(getattr(values.dtype, "na_value", np.nan)).__name__ == "NAType"
    if _arrow_strings(values, masked) is not None:
        return "arrow-na" if masked else "arrow"
    return "masked" if masked else "tolist"


def _read_column(values: Any, how: str) -> list[Any]:
    """One column as :func:`_column_lists` gives it, by the reader chosen for its dtype."""
    if how == "arrow-na" or (how == "arrow" and not values._pa_array.null_count):
        out: list[Any] = values._pa_array.to_pylist()
        return out
    column: list[Any] = values.tolist()
    if how == "masked" and values.isna().any():
        na = values.dtype.na_value
        column = [None if v is na else v for v in column]
    return column


def _dtypes(frame: Any) -> list[Any]:
    """Column dtypes of a DataFrame. ``frame.dtypes`` builds a Series (tens of microseconds);
    the block manager answers the same question in about one."""
    try:
        return list(frame._mgr.get_dtypes())
    except AttributeError:  # pragma: no cover - other pandas internals
        return list(frame.dtypes)


def _python_array(values: Sequence[Any]) -> np.ndarray:
    """A column from Python values, typed by what the values are."""
    kind = python_kind(values)
    has_none = any(v is None for v in values)
    if kind == "double" or (kind == "long" and has_none):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if kind == "long":
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            return np.array(values, dtype=object)
    if kind == "boolean" and not has_none:
        return np.array(values, dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _scalar(value: Any) -> bool:
    return not isinstance(value, (list, tuple, np.ndarray)) and not hasattr(value, "to_numpy")


def as_table(data: Any, names: Sequence[str] | None = None) -> Table:
    """Wrap a DataFrame, list of records, dict of columns or 2-D array as a :class:`Table`.

    ``names`` (the signature's column order) is needed for a plain 2-D array.
    """
    if is_dataframe(data):
        return Table(frame=data)
    if isinstance(data, Mapping):
        if all(_scalar(v) for v in data.values()):  # a single record
            data = [data]
        else:
            cols = {
                str(k): v if isinstance(v, np.ndarray) else _python_array(list(v))
                for k, v in data.items()
            }
            lengths = {len(c) for c in cols.values()}
            if len(lengths) > 1:
                raise SchemaError(f"columns have different lengths: {sorted(lengths)}")
            return Table(columns=cols, nrows=lengths.pop() if lengths else 0, from_python=True)
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], Mapping):
        keys: dict[str, None] = dict.fromkeys(names or ())
        if names is None or any(len(r) != len(keys) or r.keys() - keys.keys() for r in data):
            for record in data:
                keys.update(dict.fromkeys(record))
        cols = {k: _python_array([r.get(k) for r in data]) for k in keys}
        if names is not None:  # a key absent from every record is missing, not all-None
            cols = {k: v for k, v in cols.items() if k not in names or any(k in r for r in data)}
        return Table(columns=cols, nrows=len(data), from_python=True)
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            data = data.reshape(1, -1) if names and len(names) == len(data) else data[:, None]
        if data.ndim != 2:
            raise SchemaError(f"expected a 2-D array for tabular input, got {data.ndim} dimensions")
        if names is None:
            raise SchemaError(
                "a plain array needs a signature with column names to say which column is "
                "which; pass a DataFrame, records or a dict of columns instead"
            )
        if data.shape[1] != len(names):
            raise SchemaError(
                f"the array has {data.shape[1]} columns but the signature has {len(names)}: "
                f"{', '.join(names)}"
            )
        return Table(columns={n: data[:, i] for i, n in enumerate(names)}, nrows=data.shape[0])
    raise SchemaError(
        f"unsupported input type {type(data).__name__}; pass a pandas DataFrame, a list of "
        "dict records, a dict of columns or a 2-D numpy array"
    )


# ---------------------------------------------------------------------------- coercion

_INT_BITS = {"long": 64, "integer": 32}


def _found(arr: np.ndarray) -> str:
    if arr.dtype.kind == "O":
        kind = python_kind(arr.tolist())
        return f"{kind} values" if kind else "values of mixed types"
    name = _dtype_type(arr.dtype)
    return f"{name} ({arr.dtype})" if name else str(arr.dtype)


def _lossy(name: str, target: str, arr: np.ndarray, why: str = "") -> SchemaError:
    detail = f" ({why})" if why else ""
    example = ""
    if arr.dtype.kind in "OUS" and len(arr):
        example = f", e.g. {arr[0]!r}"
    return SchemaError(
        f"column {name!r} expects {target} but got {_found(arr)}{example}{detail}", column=name
    )


def _coerce(name: str, arr: np.ndarray, target: str, from_python: bool) -> np.ndarray:
    """Return ``arr`` converted to ``target``'s dtype, or raise when that would lose meaning."""
    kind, size = arr.dtype.kind, arr.dtype.itemsize
    if kind == "O" and target not in ("string", "binary"):
        found = python_kind(arr.tolist())
        if found is None and target != "boolean" and all(v is None for v in arr):
            found = "double"
        if found in ("long", "double", "boolean"):
            return _coerce(name, _python_array(arr.tolist()), target, True)
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
                read = [_read_column(a, how) for a, how in zip(arrays, readers)]
                names = plan.names
                return [dict(zip(names, row)) for row in zip(*read)], plan.dropped
        plan = self._plan_for(frame)
        if plan.check:
            return None
        lists = _column_lists(frame, plan.positions)
        if lists is None:
            return None
        get = frame._get_column_array
        arrays = [get(i) for i in plan.positions]
        self._records_layout = (
            present,
            plan,
            [a.dtype for a in arrays],
            [_reader_for(a) for a in arrays],
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
        dtypes = _dtypes(frame)
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
