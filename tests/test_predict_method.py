"""predict_method in-process: ``model.predict(x, params={"predict_method": ...})`` runs that
method of the saved model, each result compared with calling the raw estimator's method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.exceptions import SchemaError

pytestmark = [
    pytest.mark.filterwarnings("error"),
    # custom models are cloudpickled: loading one says so
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]

ALL = ("predict", "predict_proba", "predict_log_proba", "decision_function")


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def _fit(kind: str, X: Any, y: Any) -> Any:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic-3-classes":
        return LogisticRegression(max_iter=1000).fit(X, y)
    if kind == "pipeline-3-classes":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    if kind == "pipeline-binary-labels":  # string labels, two classes
        labels = np.where(y.to_numpy() == 0, "setosa", "other")
        return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, labels)
    if kind == "regressor":
        return LinearRegression().fit(X, y)
    raise AssertionError(kind)


def _saved(tmp_path: Path, model: Any, X: Any, **kw: Any) -> Any:
    path = tmp_path / "m"
    modelpack.save_model(model, path, input_example=X.head(), **kw)
    return modelpack.load_model(path)


@pytest.mark.parametrize(
    "kind", ["logistic-3-classes", "pipeline-3-classes", "pipeline-binary-labels"]
)
@pytest.mark.parametrize("method", ALL)
def test_sklearn_classifier_methods_equal_the_raw_ones(
    tmp_path: Path, iris: Any, kind: str, method: str
) -> None:
    X, y = iris
    raw = _fit(kind, X, y)
    model = _saved(tmp_path, raw, X)
    assert model.predict_methods == ALL
    rows = X.iloc[::7]
    out = model.predict(rows, params={"predict_method": method})
    expected = getattr(raw, method)(rows)
    if method == "predict":
        np.testing.assert_array_equal(out, expected)
    elif expected.ndim == 1:  # a binary decision function: one score per row
        assert isinstance(out, np.ndarray) and out.ndim == 1
        np.testing.assert_allclose(out, expected, rtol=1e-12)
    else:  # one column per class, named by the class label
        assert list(out.columns) == raw.classes_.tolist()
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-12)


def test_records_and_dicts_take_the_method_too(tmp_path: Path, iris: Any) -> None:
    X, y = iris
    raw = _fit("pipeline-3-classes", X, y)
    model = _saved(tmp_path, raw, X)
    rows = X.head(4)
    out = model.predict(rows.to_dict(orient="records"), params={"predict_method": "predict_proba"})
    np.testing.assert_allclose(out.to_numpy(), raw.predict_proba(rows), rtol=1e-12)


def test_without_a_method_predict_is_unchanged(tmp_path: Path, iris: Any) -> None:
    X, y = iris
    raw = _fit("logistic-3-classes", X, y)
    model = _saved(tmp_path, raw, X)
    np.testing.assert_array_equal(model.predict(X.head(5)), raw.predict(X.head(5)))
    np.testing.assert_array_equal(model.predict(X.head(5), params={}), raw.predict(X.head(5)))


def test_saved_predict_method_stays_the_default_and_predict_is_still_reachable(
    tmp_path: Path, iris: Any
) -> None:
    X, y = iris
    raw = _fit("logistic-3-classes", X, y)
    path = tmp_path / "m"
    modelpack.sklearn.save_model(raw, path, input_example=X.head(), predict_method="predict_proba")
    model = modelpack.load_model(path)
    rows = X.head(5)
    default = model.predict(rows)  # as before: the raw array of predict_proba
    assert isinstance(default, np.ndarray)
    np.testing.assert_allclose(default, raw.predict_proba(rows), rtol=1e-12)
    out = model.predict(rows, params={"predict_method": "predict"})
    np.testing.assert_array_equal(out, raw.predict(rows))


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_xgboost_classifier(tmp_path: Path, iris: Any, method: str) -> None:
    xgb = pytest.importorskip("xgboost")
    X, y = iris
    raw = xgb.XGBClassifier(n_estimators=8, max_depth=2).fit(X, y)
    model = _saved(tmp_path, raw, X)
    assert model.predict_methods == ("predict", "predict_proba")
    rows = X.iloc[::9]
    out = model.predict(rows, params={"predict_method": method})
    expected = getattr(raw, method)(rows)
    if method == "predict":
        np.testing.assert_array_equal(out, expected)
    else:
        assert list(out.columns) == [0, 1, 2]
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-6)


def test_xgboost_classifier_lacks_decision_function(tmp_path: Path, iris: Any) -> None:
    xgb = pytest.importorskip("xgboost")
    X, y = iris
    model = _saved(tmp_path, xgb.XGBClassifier(n_estimators=2).fit(X, y), X)
    with pytest.raises(SchemaError, match=r"it has predict, predict_proba$"):
        model.predict(X.head(2), params={"predict_method": "decision_function"})


@pytest.mark.parametrize("method", ["predict_proba", "predict_log_proba", "decision_function"])
def test_a_regressor_names_the_methods_it_has(tmp_path: Path, iris: Any, method: str) -> None:
    X, y = iris
    model = _saved(tmp_path, _fit("regressor", X, y), X)
    assert model.predict_methods == ("predict",)
    with pytest.raises(SchemaError) as info:
        model.predict(X.head(2), params={"predict_method": method})
    assert str(info.value) == (
        f"predict_method={method!r}: this model has no such method; it has predict"
    )
    assert isinstance(info.value, ValueError)
    assert info.value.get_http_status_code() == 400


@pytest.mark.parametrize("value", [3, None, ["predict"]], ids=["int", "null", "list"])
def test_a_method_name_that_is_not_a_string(tmp_path: Path, iris: Any, value: Any) -> None:
    X, y = iris
    model = _saved(tmp_path, _fit("logistic-3-classes", X, y), X)
    with pytest.raises(SchemaError, match="predict_method must be a method name"):
        model.predict(X.head(2), params={"predict_method": value})


def test_predict_method_needs_no_declaration_beside_declared_params(
    tmp_path: Path, iris: Any
) -> None:
    """A model with declared parameters still takes predict_method; unknown ones still fail."""
    from modelpack.models import infer_signature

    X, y = iris
    raw = _fit("logistic-3-classes", X, y)
    path = tmp_path / "m"
    signature = infer_signature(X.head(), raw.predict(X.head()), params={"threshold": 0.5})
    modelpack.save_model(raw, path, signature=signature)
    model = modelpack.load_model(path)
    out = model.predict(X.head(3), params={"predict_method": "predict_proba", "threshold": 0.2})
    np.testing.assert_allclose(out.to_numpy(), raw.predict_proba(X.head(3)), rtol=1e-12)
    with pytest.raises(SchemaError, match="unknown parameter"):
        model.predict(X.head(3), params={"predict_method": "predict_proba", "other": 1})


class _Scorer(modelpack.pyfunc.PythonModel):
    """A custom model with its own predict_proba and declared params."""

    classes_ = ["low", "high"]

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        cut = (params or {}).get("cut", 5.0)
        return np.where(model_input["x"].to_numpy() > cut, "high", "low")

    def predict_proba(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        cut = (params or {}).get("cut", 5.0)
        p = 1 / (1 + np.exp(cut - model_input["x"].to_numpy()))
        return np.column_stack([1 - p, p])


def test_python_model_methods_keep_their_own_params(tmp_path: Path) -> None:
    import pandas as pd

    from modelpack.models import infer_signature

    frame = pd.DataFrame({"x": [1.0, 5.0, 9.0]})
    path = tmp_path / "custom"
    signature = infer_signature(frame, np.array(["low"] * 3), params={"cut": 5.0})
    modelpack.pyfunc.save_model(_Scorer(), path, signature=signature)
    model = modelpack.load_model(path)
    assert model.predict_methods == ("predict", "predict_proba")
    assert model.predict(frame, params={"cut": 0.0}).tolist() == ["high"] * 3
    out = model.predict(frame, params={"predict_method": "predict_proba", "cut": 9.0})
    assert list(out.columns) == ["low", "high"]
    np.testing.assert_allclose(out["high"], 1 / (1 + np.exp(9.0 - frame["x"])), rtol=1e-12)
    with pytest.raises(SchemaError, match="it has predict, predict_proba$"):
        model.predict(frame, params={"predict_method": "decision_function"})


def test_a_plain_callable_has_predict_only(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    path = tmp_path / "fn"
    modelpack.pyfunc.save_model(lambda df: df["x"] * 2, path, input_example=frame)
    model = modelpack.load_model(path)
    assert model.predict_methods == ("predict",)
    out = model.predict(frame, params={"predict_method": "predict"})
    assert out.tolist() == [2.0, 4.0]


def test_a_signature_that_declares_predict_method_keeps_it_for_the_model(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from modelpack.models import infer_signature

    class Echo(modelpack.pyfunc.PythonModel):
        def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return [str((params or {}).get("predict_method"))] * len(model_input)

    frame = pd.DataFrame({"x": [1.0]})
    path = tmp_path / "echo"
    signature = infer_signature(frame, ["a"], params={"predict_method": "mine"})
    modelpack.pyfunc.save_model(Echo(), path, signature=signature)
    model = modelpack.load_model(path)
    assert model.predict(frame, params={"predict_method": "anything"}) == ["anything"]


def test_default_predict_method(tmp_path: Path, iris: Any) -> None:
    X, y = iris
    raw = _fit("logistic-3-classes", X, y)
    model = _saved(tmp_path, raw, X)
    model.default_predict_method = "predict_log_proba"
    rows = X.head(3)
    np.testing.assert_allclose(
        model.predict(rows).to_numpy(), raw.predict_log_proba(rows), rtol=1e-12
    )
    # a request's own choice wins over the default
    out = model.predict(rows, params={"predict_method": "predict"})
    np.testing.assert_array_equal(out, raw.predict(rows))
    with pytest.raises(SchemaError, match="no such method"):
        model.default_predict_method = "transform"
    path = tmp_path / "regressor"
    modelpack.save_model(_fit("regressor", X, y), path, input_example=X.head())
    # what `modelpack serve --predict-method` does to each model it loads
    from modelpack.serving._repository import ModelSource, load_source

    loaded = load_source(ModelSource("m", str(tmp_path / "m")), None, "predict_proba").model
    assert loaded.default_predict_method == "predict_proba"
    np.testing.assert_allclose(loaded.predict(rows).to_numpy(), raw.predict_proba(rows), rtol=1e-12)
    # nothing leaks into other loads in the process
    assert modelpack.load_model(tmp_path / "m").default_predict_method is None
    with pytest.raises(SchemaError, match="it has predict$"):
        load_source(ModelSource("r", str(path)), None, "predict_proba")
