"""Input checks and conversions at predict time, through the public predict interface."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelpack
from modelpack import PythonModel
from modelpack.exceptions import ModelpackWarning, SchemaError


class Echo(PythonModel):
    """Returns what it receives, so tests can see the converted input."""

    input_kind = "frame"

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


@pytest.fixture
def echo(tmp_path: Path) -> modelpack.PyFuncModel:
    example = pd.DataFrame(
        {
            "name": ["a"],
            "x": np.array([1.0]),
            "n": np.array([1], dtype=np.int64),
            "f": np.array([1.0], dtype=np.float32),
        }
    )
    modelpack.save_model(Echo(), tmp_path / "echo", input_example=example)
    return modelpack.load_model(tmp_path / "echo")


def test_lossless_conversions_are_silent(echo: modelpack.PyFuncModel) -> None:
    frame = pd.DataFrame(
        {
            "f": np.array([2.0], dtype=np.float32),
            "n": np.array([7], dtype=np.int32),  # int32 -> int64
            "x": np.array([3], dtype=np.int64),  # int -> double
            "name": ["b"],
        }
    )  # columns reordered
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = echo.predict(frame)
    assert list(out.columns) == ["name", "x", "n", "f"]
    assert out["x"].dtype == np.float64 and out["x"].iloc[0] == 3.0
    assert out["n"].dtype == np.int64 and out["n"].iloc[0] == 7


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        pytest.param(
            "x", "abc", "column 'x' expects double but got string values", id="str-in-double"
        ),
        pytest.param("n", 1.5, "column 'n' expects long", id="fraction-in-long"),
        pytest.param("name", 3, "column 'name' expects string but got long", id="int-in-string"),
        pytest.param("x", True, "column 'x' expects double but got boolean", id="bool-in-double"),
    ],
)
def test_nonsense_conversions_name_column_and_types(
    echo: modelpack.PyFuncModel, column: str, value: object, message: str
) -> None:
    record = {"name": "a", "x": 1.0, "n": 1, "f": 1.0, column: value}
    with pytest.raises(SchemaError, match=message) as info:
        echo.predict([record])
    assert info.value.column == column


def test_lossy_dtype_conversion_from_dataframe(echo: modelpack.PyFuncModel) -> None:
    frame = pd.DataFrame({"name": ["a"], "x": [1.0], "n": [1], "f": np.array([1.0])})
    with pytest.raises(SchemaError, match="column .f. expects float but got double \\(float64\\)"):
        echo.predict(frame)


def test_values_from_python_have_no_width(echo: modelpack.PyFuncModel) -> None:
    out = echo.predict([{"name": "a", "x": 1, "n": 2.0, "f": 0.5}])
    assert out["n"].dtype == np.int64 and out["n"].iloc[0] == 2
    assert out["f"].dtype == np.float32


def test_missing_column_is_named(echo: modelpack.PyFuncModel) -> None:
    with pytest.raises(SchemaError, match="missing required column.*'n'") as info:
        echo.predict([{"name": "a", "x": 1.0, "f": 1.0}])
    assert info.value.column == "n"


def test_extra_columns_dropped_with_one_warning(echo: modelpack.PyFuncModel) -> None:
    record = {"name": "a", "x": 1.0, "n": 1, "f": 1.0, "junk": 9}
    with pytest.warns(ModelpackWarning, match="junk"):
        out = echo.predict([record])
    assert "junk" not in out.columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        echo.predict([record])  # the same extra columns warn only once


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: pd.DataFrame(
                {
                    "name": ["a", "b"],
                    "x": [1.0, 2.0],
                    "n": [1, 2],
                    "f": np.array([1, 2], np.float32),
                }
            ),
            id="dataframe",
        ),
        pytest.param(
            lambda: [
                {"name": "a", "x": 1.0, "n": 1, "f": 1.0},
                {"name": "b", "x": 2.0, "n": 2, "f": 2.0},
            ],
            id="records",
        ),
        pytest.param(
            lambda: {"name": ["a", "b"], "x": [1.0, 2.0], "n": [1, 2], "f": [1.0, 2.0]},
            id="dict-of-columns",
        ),
        pytest.param(
            lambda: np.array([["a", 1.0, 1, 1.0], ["b", 2.0, 2, 2.0]], dtype=object), id="2d-array"
        ),
    ],
)
def test_every_input_form_gives_the_same_table(echo: modelpack.PyFuncModel, make: Any) -> None:
    out = echo.predict(make())
    assert out["name"].tolist() == ["a", "b"]
    assert out["x"].tolist() == [1.0, 2.0]
    assert out["n"].tolist() == [1, 2]


def test_array_needs_matching_width(echo: modelpack.PyFuncModel) -> None:
    with pytest.raises(SchemaError, match="3 columns but the signature has 4"):
        echo.predict(np.zeros((1, 3)))


def test_unsupported_input_type(echo: modelpack.PyFuncModel) -> None:
    with pytest.raises(SchemaError, match="unsupported input type"):
        echo.predict(42)


def test_all_double_fast_path_matches_general_path(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.9]})
    lr = LinearRegression().fit(frame.to_numpy(), [1.0, 2.0, 3.0])
    modelpack.save_model(lr, tmp_path / "lr", input_example=frame)
    model = modelpack.load_model(tmp_path / "lr")
    expected = lr.predict(frame.to_numpy())
    np.testing.assert_allclose(model.predict(frame.to_dict("records")), expected)
    np.testing.assert_allclose(model.predict(frame), expected)
    np.testing.assert_allclose(model.predict(frame.to_numpy()), expected)
    np.testing.assert_allclose(model.predict([{"b": 0.5, "a": 1}]), expected[:1])
    with pytest.raises(SchemaError, match="column 'a' expects double but got string"):
        model.predict([{"a": "1.0", "b": 0.5}])


def test_tensor_signature(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    lr = LinearRegression().fit(X, X.sum(axis=1))
    modelpack.save_model(lr, tmp_path / "t", input_example=X[:2])
    model = modelpack.load_model(tmp_path / "t")
    np.testing.assert_allclose(model.predict(X.astype(np.int64)), lr.predict(X))
    with pytest.raises(SchemaError, match=r"shape \(2, 2\)"):
        model.predict(np.zeros((2, 2)))
    with pytest.raises(SchemaError, match="dtype <U1"):
        model.predict(np.array([["a", "b", "c"]]))


def test_params_are_checked(tmp_path: Path) -> None:
    class Scale(PythonModel):
        def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            assert params is not None
            return model_input["x"].to_numpy() * params["factor"]

    sig = modelpack.infer_signature(pd.DataFrame({"x": [1.0]}), params={"factor": 2.0})
    modelpack.save_model(Scale(), tmp_path / "s", signature=sig)
    model = modelpack.load_model(tmp_path / "s")
    assert model.predict([{"x": 3.0}]).tolist() == [6.0]
    assert model.predict([{"x": 3.0}], params={"factor": 10.0}).tolist() == [30.0]
    with pytest.raises(SchemaError, match="unknown parameter.*speed"):
        model.predict([{"x": 3.0}], params={"speed": 1})


def test_records_fast_path_matches_general_path(taxi_model_dir: Path, taxi: Any) -> None:
    """Records for a DictVectorizer go through a plain-Python check; results must not change."""
    model = modelpack.load_model(taxi_model_dir)
    frame, records, _ = taxi
    expected = model.predict(frame.head(10))
    np.testing.assert_allclose(model.predict(records[:10]), expected)
    as_ints = [{"PU_DO": "1_2", "trip_distance": 3}]
    np.testing.assert_allclose(
        model.predict(as_ints), model.predict([{"PU_DO": "1_2", "trip_distance": 3.0}])
    )
    with pytest.warns(ModelpackWarning, match="tip"):
        with_extra = model.predict([{**records[0], "tip": 1.0}])
    np.testing.assert_allclose(with_extra, expected[:1])
    with pytest.raises(SchemaError, match="column 'PU_DO' expects string but got long"):
        model.predict([{"PU_DO": 7, "trip_distance": 1.0}])
    with pytest.raises(SchemaError, match="missing required column.*'PU_DO'"):
        model.predict([{"trip_distance": 1.0}])


def _same_records(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert list(g) == list(w)
        for key in g:
            if isinstance(w[key], float) and np.isnan(w[key]):
                assert isinstance(g[key], float) and np.isnan(g[key]), key
            else:
                assert g[key] == w[key] and type(g[key]) is type(w[key]), key


@pytest.mark.parametrize(
    "strings",
    [
        pytest.param(lambda v: pd.array(v, dtype="str"), id="default-str"),
        pytest.param(lambda v: pd.array(v, dtype="string[pyarrow]"), id="string-pyarrow"),
        pytest.param(lambda v: pd.array(v, dtype="string[python]"), id="string-python"),
        pytest.param(lambda v: np.array(v, dtype=object), id="object"),
    ],
)
def test_dataframe_to_records_matches_pandas(taxi_model_dir: Path, strings: Any) -> None:
    """A DataFrame for a records-consuming model becomes the same records pandas gives, for
    every string storage, with missing values, reordered and extra columns."""
    model = modelpack.load_model(taxi_model_dir)
    zones = ["43_151", "1_2", None, "7_9"]
    frame = pd.DataFrame(
        {"trip_distance": [1.5, 2.0, 3.25, 4.0], "tip": [1, 2, 3, 4], "PU_DO": strings(zones)}
    )
    with pytest.warns(ModelpackWarning, match="tip"):
        got = model.prepare(frame)
    want = frame[["PU_DO", "trip_distance"]].to_dict(orient="records")
    _same_records(got, want)
    full = frame.dropna()
    _same_records(model.prepare(full), full[["PU_DO", "trip_distance"]].to_dict("records"))
    # The same layout again comes from the cached plan and gives the same answer.
    _same_records(model.prepare(full), full[["PU_DO", "trip_distance"]].to_dict("records"))
    np.testing.assert_allclose(
        model.predict(full[["PU_DO", "trip_distance"]]),
        model.predict(full[["PU_DO", "trip_distance"]].to_dict("records")),
    )


def test_dataframe_to_records_converts_and_rejects_like_records(taxi_model_dir: Path) -> None:
    model = modelpack.load_model(taxi_model_dir)
    as_ints = pd.DataFrame({"PU_DO": ["1_2"], "trip_distance": np.array([3], dtype=np.int32)})
    np.testing.assert_allclose(
        model.predict(as_ints), model.predict([{"PU_DO": "1_2", "trip_distance": 3.0}])
    )
    with pytest.raises(SchemaError, match="PU_DO"):
        model.predict(pd.DataFrame({"PU_DO": [7], "trip_distance": [1.0]}))
    with pytest.raises(SchemaError, match="missing required column.*'PU_DO'"):
        model.predict(pd.DataFrame({"trip_distance": [1.0]}))
    when = pd.DataFrame({"PU_DO": ["1_2"], "trip_distance": pd.to_datetime(["2024-01-01"])})
    with pytest.raises(SchemaError, match="trip_distance"):
        model.predict(when)


def test_without_a_signature_nested_lists_are_rows(tmp_path: Path) -> None:
    """An array-consuming model saved without a signature takes rows as nested lists."""
    from sklearn.linear_model import LinearRegression

    x = np.arange(12.0).reshape(4, 3)
    lr = LinearRegression().fit(x, x.sum(axis=1))
    modelpack.save_model(lr, tmp_path / "bare")
    model = modelpack.load_model(tmp_path / "bare")
    assert model.signature is None
    np.testing.assert_allclose(model.predict([[1.0, 2.0, 3.0]]), lr.predict([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(
        model.predict(((1, 2, 3), (4, 5, 6))), lr.predict(x[:2] * 0 + [[1, 2, 3], [4, 5, 6]])
    )


def test_long_object_string_columns_are_checked_whole(echo: modelpack.PyFuncModel) -> None:
    """Long object columns take a vectorised check; the answer must match the per-value one."""
    n = 500
    base = {"x": np.ones(n), "n": np.ones(n, dtype=np.int64), "f": np.ones(n, dtype=np.float32)}
    names = np.array([f"r{i}" for i in range(n)], dtype=object)
    out = echo.predict(pd.DataFrame({"name": pd.Series(names, dtype=object), **base}))
    assert out["name"].tolist() == names.tolist()
    with_none = names.copy()
    with_none[7] = None
    assert (
        echo.predict(pd.DataFrame({"name": pd.Series(with_none, dtype=object), **base}))[
            "name"
        ].iloc[7]
        is None
    )
    with_int = names.copy()
    with_int[n - 1] = 5
    with pytest.raises(SchemaError, match="column 'name' expects string"):
        echo.predict(pd.DataFrame({"name": pd.Series(with_int, dtype=object), **base}))


def test_without_a_signature_a_custom_model_gets_plain_input_unchanged(tmp_path: Path) -> None:
    class Doubler(PythonModel):
        def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return [2 * x for x in model_input]

    modelpack.save_model(Doubler(), tmp_path / "doubler")
    model = modelpack.load_model(tmp_path / "doubler")
    assert model.predict([1, 2, 3]) == [2, 4, 6]
    assert model.predict((1.5,)) == [3.0]
    assert list(model.predict(np.array([1, 2]))) == [2, 4]
    # Records still become a DataFrame for a frame-consuming model.
    echoed = modelpack.pyfunc.PyFuncModel.prepare(model, [{"a": 1}, {"a": 2}])
    assert isinstance(echoed, pd.DataFrame) and echoed["a"].tolist() == [1, 2]


def test_same_layout_frames_reuse_the_layout_safely(taxi_model_dir: Path) -> None:
    """After a frame without missing values, a same-layout frame with them, or with another
    dtype for a column, still gives what pandas gives."""
    model = modelpack.load_model(taxi_model_dir)

    def frame(zones: list[Any], dtype: str) -> pd.DataFrame:
        return pd.DataFrame({"PU_DO": pd.array(zones, dtype=dtype), "trip_distance": [1.0, 2.0]})

    for dtype in ("str", "string[pyarrow]", "string[python]"):
        first = frame(["1_2", "7_9"], dtype)
        _same_records(model.prepare(first), first.to_dict("records"))
        later = frame(["43_151", None], dtype)
        _same_records(model.prepare(later), later.to_dict("records"))
        again = frame(["7_9", "1_2"], dtype)
        _same_records(model.prepare(again), again.to_dict("records"))
    as_object = pd.DataFrame(
        {"PU_DO": pd.Series(["1_2", "7_9"], dtype=object), "trip_distance": [1.0, 2.0]}
    )
    _same_records(model.prepare(as_object), as_object.to_dict("records"))
    with pytest.raises(SchemaError, match="PU_DO"):
        model.prepare(pd.DataFrame({"PU_DO": [1, 2], "trip_distance": [1.0, 2.0]}))


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"n": [1, None, 3]}, r"column 'n' expects long but row 1 is null"),
        ({"n": [2**63, 1, 1]}, r"column 'n' expects long but row 0 holds 9223372036854775808"),
        ({"n": [None, None, None]}, r"column 'n' expects long but row 0 is null"),
        ({"b": [True, None, False]}, r"column 'b' expects boolean but row 1 is null"),
    ],
    ids=["null-in-long", "beyond-int64", "all-null-long", "null-in-boolean"],
)
def test_unconvertible_python_columns_name_the_row_and_never_recurse(
    columns: dict[str, list[Any]], message: str
) -> None:
    from modelpack._enforce import ColumnEnforcer
    from modelpack._signature import ColSpec, Schema

    name = next(iter(columns))
    target = "boolean" if name == "b" else "long"
    enforce = ColumnEnforcer(Schema([ColSpec(target, name)]))
    with pytest.raises(SchemaError, match=message):
        enforce(columns)


def test_an_all_null_double_column_is_nan() -> None:
    from modelpack._enforce import ColumnEnforcer
    from modelpack._signature import ColSpec, Schema

    table, _ = ColumnEnforcer(Schema([ColSpec("double", "x")]))({"x": [None, None]})
    assert np.isnan(np.asarray(table.to_matrix(), dtype=float)).all()
