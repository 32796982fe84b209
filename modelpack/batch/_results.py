"""What a model returned, as output columns: shared by file scoring and the Spark UDF.

A 1-D result (array, Series, list) is one column. A 2-D array with ``k > 1`` columns becomes
``k`` columns ``NAME_0 .. NAME_{k-1}``; a DataFrame or dict of columns becomes one column per
key, ``NAME_<key>``. Either way the output stays flat, so CSV can hold it too. Results with
more dimensions become one column of nested lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from modelpack._signature import is_dataframe
from modelpack.batch._errors import BatchError

__all__ = ["as_array", "prediction_columns"]


def _check_length(n: int, nrows: int) -> None:
    if n != nrows:
        raise BatchError(
            f"the model returned {n} predictions for {nrows} input rows; batch scoring needs "
            "one prediction per row"
        )


def as_array(pred: Any, nrows: int) -> np.ndarray:
    """The result as a numpy array with one entry (or one row) per input row."""
    if hasattr(pred, "toarray"):  # scipy sparse
        pred = pred.toarray()
    if hasattr(pred, "to_numpy"):
        arr = pred.to_numpy()
    elif isinstance(pred, np.ndarray):
        arr = pred
    else:
        try:
            arr = np.asarray(pred)
        except ValueError:  # ragged lists
            arr = np.empty(len(pred), dtype=object)
            arr[:] = list(pred)
    if arr.ndim == 0:
        raise BatchError(
            f"the model returned a single {type(pred).__name__} for {nrows} rows; batch scoring "
            "needs one prediction per row"
        )
    _check_length(arr.shape[0], nrows)
    return arr


def prediction_columns(pred: Any, nrows: int, *, name: str) -> dict[str, Any]:
    """Split a model's result into named 1-D columns (see the module docstring)."""
    if is_dataframe(pred) or isinstance(pred, Mapping):
        keys = [str(k) for k in (pred.columns if is_dataframe(pred) else pred)]
        values = [pred[k] for k in (pred.columns if is_dataframe(pred) else pred)]
        if len(values) == 1:
            return {name: as_array(values[0], nrows)}
        return {f"{name}_{k}": as_array(v, nrows) for k, v in zip(keys, values)}
    arr = as_array(pred, nrows)
    if arr.ndim == 1:
        return {name: arr}
    if arr.ndim == 2 and arr.shape[1] == 1:
        return {name: arr[:, 0]}
    if arr.ndim == 2:
        return {f"{name}_{i}": arr[:, i] for i in range(arr.shape[1])}
    return {name: [row.tolist() for row in arr]}
