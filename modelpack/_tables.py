"""Reading caller input into a :class:`Table`, and a table into what a model consumes.

Input comes as a pandas DataFrame, a list of dict records, a dict of columns or a 2-D array.
This is the per-call hot path of ``predict``, so it avoids pandas unless the caller passed a
DataFrame or the model needs one, and it reads DataFrame columns without pandas' per-value
boxing where it can. Checking a table against a signature is ``_enforce``'s job.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelpack._optional import require
from modelpack._signature import is_dataframe, python_kind
from modelpack.exceptions import SchemaError

__all__ = [
    "Table",
    "as_table",
    "column_lists",
    "frame_dtypes",
    "python_array",
    "read_column",
    "reader_for",
]


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
                self.numeric = all(
                    getattr(d, "kind", "O") in "biuf" for d in frame_dtypes(self.frame)
                )
            else:
                assert self.columns is not None
                self.numeric = all(c.dtype.kind in "biuf" for c in self.columns.values())
        return self.numeric

    def to_frame(self) -> Any:
        if self.frame is not None:
            return self.frame
        try:
            import pandas as pd
        except ImportError:  # only now: the import statement stays the hot path's whole cost
            pd = require("pandas", None, purpose="a model that takes a DataFrame")

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
            lists = column_lists(self.frame)
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


def column_lists(frame: Any, positions: Sequence[int] | None = None) -> list[list[Any]] | None:
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


def reader_for(values: Any) -> str:
    """How :func:`read_column` reads columns of this array's dtype (decided once per layout,
    only for dtypes :func:`column_lists` reads without boxing)."""
    masked = type(getattr(values.dtype, "na_value", np.nan)).__name__ == "NAType"
    if _arrow_strings(values, masked) is not None:
        return "arrow-na" if masked else "arrow"
    return "masked" if masked else "tolist"


def read_column(values: Any, how: str) -> list[Any]:
    """One column as :func:`column_lists` gives it, by the reader chosen for its dtype."""
    if how == "arrow-na" or (how == "arrow" and not values._pa_array.null_count):
        out: list[Any] = values._pa_array.to_pylist()
        return out
    column: list[Any] = values.tolist()
    if how == "masked" and values.isna().any():
        na = values.dtype.na_value
        column = [None if v is na else v for v in column]
    return column


def frame_dtypes(frame: Any) -> list[Any]:
    """Column dtypes of a DataFrame. ``frame.dtypes`` builds a Series (tens of microseconds);
    the block manager answers the same question in about one."""
    try:
        return list(frame._mgr.get_dtypes())
    except AttributeError:  # pragma: no cover - other pandas internals
        return list(frame.dtypes)


def python_array(values: Sequence[Any]) -> np.ndarray:
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
                str(k): v if isinstance(v, np.ndarray) else python_array(list(v))
                for k, v in data.items()
            }
            lengths = {len(c) for c in cols.values()}
            if len(lengths) > 1:
                raise SchemaError(f"columns have different lengths: {sorted(lengths)}")
            return Table(columns=cols, nrows=lengths.pop() if lengths else 0, from_python=True)
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], Mapping):
        bad = next((i for i, r in enumerate(data) if not isinstance(r, Mapping)), None)
        if bad is not None:
            raise SchemaError(
                f"record {bad} is {type(data[bad]).__name__}, not a mapping of column names to "
                "values; give every record as a dict"
            )
        keys: dict[str, None] = dict.fromkeys(names or ())
        if names is None or any(len(r) != len(keys) or r.keys() - keys.keys() for r in data):
            for record in data:
                keys.update(dict.fromkeys(record))
        cols = {k: python_array([r.get(k) for r in data]) for k in keys}
        if names is not None:  # a key absent from every record is missing, not all-None
            cols = {k: v for k, v in cols.items() if k not in names or any(k in r for r in data)}
        return Table(columns=cols, nrows=len(data), from_python=True)
    if isinstance(data, (list, tuple)):
        try:
            data = np.asarray(data)
        except ValueError as e:  # rows of different lengths
            raise SchemaError(
                f"the rows do not form a table ({e}); give every row the same number of values"
            ) from e
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
