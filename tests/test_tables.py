"""Reading caller input into a Table (``modelpack._tables``), without a signature check."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelpack._tables import as_table, column_lists, python_array
from modelpack.exceptions import SchemaError

RECORDS = [{"a": 1.0, "b": "x"}, {"a": 2.5, "b": "y"}]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(pd.DataFrame(RECORDS), id="dataframe"),
        pytest.param(RECORDS, id="records"),
        pytest.param({"a": [1.0, 2.5], "b": ["x", "y"]}, id="dict-of-columns"),
        pytest.param(np.array([[1.0, "x"], [2.5, "y"]], dtype=object), id="array"),
    ],
)
def test_every_form_reads_to_the_same_records(data: Any) -> None:
    table = as_table(data, ["a", "b"])
    assert table.names == ["a", "b"] and table.nrows == 2
    assert table.to_records() == RECORDS
    assert table.to_frame().to_dict("records") == RECORDS


def test_a_single_record_is_one_row() -> None:
    assert as_table({"a": 1.0, "b": "x"}).to_records() == [{"a": 1.0, "b": "x"}]


def test_a_flat_array_with_a_name_per_value_is_one_row() -> None:
    assert as_table(np.array([1.0, 2.0]), ["a", "b"]).to_matrix().tolist() == [[1.0, 2.0]]


def test_numeric_columns_become_one_matrix() -> None:
    table = as_table({"a": [1, 2], "b": [0.5, 1.5]})
    assert table.is_numeric
    matrix = table.to_matrix()
    assert matrix.dtype == np.float64 and matrix.tolist() == [[1.0, 0.5], [2.0, 1.5]]


@pytest.mark.parametrize(
    ("data", "names", "message"),
    [
        pytest.param({"a": [1, 2], "b": [1]}, None, "different lengths", id="ragged-columns"),
        pytest.param(np.zeros((2, 3)), None, "needs a signature", id="array-without-names"),
        pytest.param(np.zeros((2, 3)), ["a", "b"], "has 3 columns", id="array-width"),
        pytest.param(np.zeros((2, 2, 2)), ["a", "b"], "2-D array", id="array-rank"),
        pytest.param(object(), None, "unsupported input type", id="unknown-type"),
    ],
)
def test_unreadable_input_is_a_schema_error(data: Any, names: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        as_table(data, names)


def test_python_values_are_typed_by_what_they_are() -> None:
    assert python_array([1, 2]).dtype == np.int64
    assert python_array([1, None]).dtype == np.float64  # missing ints become NaN
    assert python_array([True, False]).dtype == np.bool_
    assert python_array(["x", None]).dtype == object


def test_column_lists_match_pandas_records() -> None:
    frame = pd.DataFrame(
        {"n": pd.array([1, None], dtype="Int64"), "s": ["x", "y"], "f": [0.5, np.nan]}
    )
    lists = column_lists(frame)
    assert lists is not None
    rows = [dict(zip(frame.columns, row)) for row in zip(*lists)]
    expected = frame.to_dict("records")
    assert rows[0] == expected[0]
    assert rows[1]["n"] is None is expected[1]["n"]  # pd.NA becomes None, as in to_dict
    assert rows[1]["s"] == "y" and np.isnan(rows[1]["f"]) and np.isnan(expected[1]["f"])


def test_a_frame_without_pandas_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelpack.exceptions import MissingDependencyError

    table = as_table({"a": [1, 2], "b": ["x", "y"]})
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an uninstalled library looks like
    with pytest.raises(MissingDependencyError, match="pip install pandas"):
        table.to_frame()
