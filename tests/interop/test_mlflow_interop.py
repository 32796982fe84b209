"""MLflow compatibility, both ways.

Directories written by MLflow 3.x load with ``modelpack.load_model`` and predict what the original
object predicts; directories written by modelpack load with ``mlflow.pyfunc.load_model`` (through
the ``loader_module`` modelpack writes) and with MLflow's native ``mlflow.sklearn`` /
``mlflow.xgboost`` loaders. Everything is real: MLflow writes and reads real directories.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = [
    pytest.mark.mlflow,
    # MLflow's own advice while inferring a signature with an int column, and a pandas
    # deprecation inside MLflow: neither is about modelpack.
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]
pytest.importorskip("mlflow")

import mlflow  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402
import mlflow.xgboost  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402
from mlflow.models import Model, infer_signature  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import modelpack  # noqa: E402
import modelpack.sklearn  # noqa: E402
import modelpack.xgboost  # noqa: E402
from modelpack.exceptions import SchemaError, UnsafeModelError  # noqa: E402

# Passing explicit requirements keeps MLflow from inferring them, which starts a subprocess and
# takes seconds per save; what MLflow writes otherwise is the same.
_SK_REQS = ["scikit-learn"]
_XGB_REQS = ["xgboost"]


@pytest.fixture(autouse=True)
def _mlflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow 3.17 refuses every sklearn load (skops included) unless this is set.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    # Nothing here should touch a tracking store; if something does, it lands in tmp_path.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


def _close(actual: Any, expected: Any) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-6)


# ------------------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def numeric(taxi: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """A numeric frame (one double, one int64 column) for models fitted on a DataFrame."""
    frame, _, y = taxi
    zones = {z: i for i, z in enumerate(sorted(frame["PU_DO"].unique()))}
    df = pd.DataFrame(
        {
            "trip_distance": frame["trip_distance"],
            "zone": frame["PU_DO"].map(zones).astype("int64"),
        }
    )
    return df, y


@pytest.fixture(scope="module")
def sk_pipeline(numeric: Any) -> Pipeline:
    df, y = numeric
    return make_pipeline(StandardScaler(), LinearRegression()).fit(df, y)


@pytest.fixture(scope="module")
def frame_booster(numeric: Any) -> Any:
    """A Booster trained on a DMatrix built from a DataFrame (it keeps the feature names)."""
    df, y = numeric
    return xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(df, label=y), 15)


@pytest.fixture(scope="module")
def xgb_regressor(numeric: Any) -> Any:
    df, y = numeric
    return xgb.XGBRegressor(n_estimators=15, max_depth=3).fit(df, y)


# ============================================================ MLflow writes, modelpack reads
@pytest.fixture(scope="module")
def mlflow_dirs(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Save a model with MLflow once per (key) and return its directory."""
    root = tmp_path_factory.mktemp("mlflow-written")
    cache: dict[str, Path] = {}

    def get(key: str, save: Callable[[str], None]) -> Path:
        if key not in cache:
            path = root / key
            save(str(path))
            cache[key] = path
        return cache[key]

    return get


def _example_kwargs(with_example: bool, example: pd.DataFrame, output: Any) -> dict[str, Any]:
    if not with_example:
        return {}
    return {"signature": infer_signature(example, output), "input_example": example}


@pytest.mark.parametrize("with_example", [False, True], ids=["bare", "signature+example"])
@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle", "skops"])
def test_mlflow_sklearn_model_loads_in_modelpack(
    mlflow_dirs: Any, sk_pipeline: Pipeline, numeric: Any, fmt: str, with_example: bool
) -> None:
    df, _ = numeric
    head = df.head(3)
    path = mlflow_dirs(
        f"sklearn-{fmt}-{with_example}",
        lambda p: mlflow.sklearn.save_model(
            sk_pipeline,
            p,
            serialization_format=fmt,
            pip_requirements=_SK_REQS,
            **_example_kwargs(with_example, head, sk_pipeline.predict(head)),
        ),
    )
    expected = sk_pipeline.predict(df.head(20))

    model = modelpack.load_model(path)
    assert model.flavor == "sklearn"
    _close(model.predict(df.head(20)), expected)
    _close(model.predict(df.head(20).to_dict(orient="records")), expected)
    if with_example:
        assert model.input_schema is not None
        assert model.input_schema.names == ["trip_distance", "zone"]
    else:
        assert model.signature is None

    native = modelpack.sklearn.load_model(path)
    assert isinstance(native, Pipeline)
    _close(native.predict(df.head(20)), expected)


@pytest.mark.parametrize("with_example", [False, True], ids=["bare", "signature+example"])
@pytest.mark.parametrize("kind", ["booster", "regressor"])
@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_mlflow_xgboost_model_loads_in_modelpack(
    mlflow_dirs: Any,
    frame_booster: Any,
    xgb_regressor: Any,
    numeric: Any,
    fmt: str,
    kind: str,
    with_example: bool,
) -> None:
    df, _ = numeric
    head = df.head(3)
    obj = frame_booster if kind == "booster" else xgb_regressor

    def raw_predict(data: pd.DataFrame) -> Any:
        return obj.predict(xgb.DMatrix(data)) if kind == "booster" else obj.predict(data)

    path = mlflow_dirs(
        f"xgboost-{kind}-{fmt}-{with_example}",
        lambda p: mlflow.xgboost.save_model(
            obj,
            p,
            model_format=fmt,
            pip_requirements=_XGB_REQS,
            **_example_kwargs(with_example, head, raw_predict(head)),
        ),
    )
    expected = raw_predict(df.head(20))

    model = modelpack.load_model(path)
    assert model.flavor == "xgboost"
    _close(model.predict(df.head(20)), expected)
    if with_example:
        _close(model.predict(df.head(20).to_dict(orient="records")), expected)

    native = modelpack.xgboost.load_model(path)
    assert type(native) is type(obj)
    data = df.head(20)
    native_out = native.predict(xgb.DMatrix(data) if kind == "booster" else data)
    _close(native_out, expected)


def test_mlflow_pyfunc_predict_fn_is_honoured(mlflow_dirs: Any, numeric: Any) -> None:
    """MLflow records ``pyfunc_predict_fn`` in the python_function flavor; modelpack uses it."""
    df, y = numeric
    clf = LogisticRegression().fit(df, y > np.median(y))
    path = mlflow_dirs(
        "sklearn-predict-proba",
        lambda p: mlflow.sklearn.save_model(
            clf, p, pyfunc_predict_fn="predict_proba", pip_requirements=_SK_REQS
        ),
    )
    expected = clf.predict_proba(df.head(10))
    _close(modelpack.load_model(path).predict(df.head(10)), expected)
    _close(mlflow.pyfunc.load_model(str(path)).predict(df.head(10)), expected)


def test_mlflow_signature_is_enforced_by_modelpack(
    mlflow_dirs: Any, sk_pipeline: Any, numeric: Any
) -> None:
    df, _ = numeric
    head = df.head(3)
    path = mlflow_dirs(
        "sklearn-skops-True",
        lambda p: mlflow.sklearn.save_model(
            sk_pipeline,
            p,
            serialization_format="skops",
            pip_requirements=_SK_REQS,
            **_example_kwargs(True, head, sk_pipeline.predict(head)),
        ),
    )
    model = modelpack.load_model(path)
    with pytest.raises(SchemaError, match="zone"):
        model.predict(df[["trip_distance"]].head(3))
    with pytest.raises(SchemaError, match="trip_distance"):
        model.predict({"trip_distance": ["far"], "zone": [1]})


def test_mlflow_pickle_models_refused_when_pickle_disallowed(
    mlflow_dirs: Any, sk_pipeline: Any, numeric: Any
) -> None:
    df, _ = numeric
    pickled = mlflow_dirs(
        "sklearn-cloudpickle-False",
        lambda p: mlflow.sklearn.save_model(
            sk_pipeline, p, serialization_format="cloudpickle", pip_requirements=_SK_REQS
        ),
    )
    safe = mlflow_dirs(
        "sklearn-skops-False",
        lambda p: mlflow.sklearn.save_model(
            sk_pipeline, p, serialization_format="skops", pip_requirements=_SK_REQS
        ),
    )
    with pytest.raises(UnsafeModelError, match=r"model\.pkl"):
        modelpack.load_model(pickled, allow_pickle=False)
    model = modelpack.load_model(safe, allow_pickle=False)
    _close(model.predict(df.head(5)), sk_pipeline.predict(df.head(5)))


# ============================================================ modelpack writes, MLflow reads
def _check_mlflow_manifest(path: Path, columns: list[str], example: pd.DataFrame) -> None:
    """MLflow parses our MLmodel: loader, signature and input example."""
    meta = Model.load(str(path))
    assert meta.flavors["python_function"]["loader_module"] == "modelpack.flavors._mlflow_compat"
    assert meta.signature is not None
    assert meta.signature.inputs.input_names() == columns
    assert meta.signature.outputs is not None
    loaded = meta.load_input_example(str(path))
    pd.testing.assert_frame_equal(loaded.reset_index(drop=True), example.reset_index(drop=True))


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle", "pickle"])
def test_modelpack_sklearn_with_preprocessor_loads_in_mlflow(
    tmp_path: Path, taxi: Any, taxi_dv_lr: Any, fmt: str
) -> None:
    frame, records, _ = taxi
    dv, lr = taxi_dv_lr
    path = tmp_path / "model"
    modelpack.sklearn.save_model(
        lr, path, preprocessor=dv, input_example=frame.head(3), serialization_format=fmt
    )
    expected = lr.predict(dv.transform(records[:20]))
    _check_mlflow_manifest(path, ["PU_DO", "trip_distance"], frame.head(3))

    # MLflow enforces the signature, then our loader applies the DictVectorizer to raw input.
    pyfunc = mlflow.pyfunc.load_model(str(path))
    _close(pyfunc.predict(frame.head(20)), expected)
    _close(pyfunc.predict(records[:20]), expected)
    _close(pyfunc.predict(frame.head(20).to_dict(orient="list")), expected)

    native = mlflow.sklearn.load_model(str(path))
    assert isinstance(native, LinearRegression)
    _close(native.predict(dv.transform(records[:20])), expected)


def test_modelpack_sklearn_pipeline_loads_in_mlflow(
    tmp_path: Path, sk_pipeline: Pipeline, numeric: Any
) -> None:
    df, _ = numeric
    path = tmp_path / "model"
    modelpack.save_model(sk_pipeline, path, input_example=df.head(3))
    expected = sk_pipeline.predict(df.head(20))
    _check_mlflow_manifest(path, ["trip_distance", "zone"], df.head(3))
    _close(mlflow.pyfunc.load_model(str(path)).predict(df.head(20)), expected)
    native = mlflow.sklearn.load_model(str(path))
    assert isinstance(native, Pipeline)
    _close(native.predict(df.head(20)), expected)


@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_modelpack_booster_with_dict_vectorizer_loads_in_mlflow(
    tmp_path: Path, taxi: Any, taxi_dv_lr: Any, taxi_booster: Any, fmt: str
) -> None:
    frame, records, _ = taxi
    dv, _ = taxi_dv_lr
    path = tmp_path / "model"
    modelpack.xgboost.save_model(
        taxi_booster, path, preprocessor=dv, input_example=frame.head(3), model_format=fmt
    )
    expected = taxi_booster.predict(xgb.DMatrix(dv.transform(records[:20])))
    _check_mlflow_manifest(path, ["PU_DO", "trip_distance"], frame.head(3))

    pyfunc = mlflow.pyfunc.load_model(str(path))
    _close(pyfunc.predict(frame.head(20)), expected)
    _close(pyfunc.predict(records[:20]), expected)

    native = mlflow.xgboost.load_model(str(path))
    assert isinstance(native, xgb.Booster)
    _close(native.predict(xgb.DMatrix(dv.transform(records[:20]))), expected)


def test_modelpack_xgb_regressor_loads_in_mlflow(
    tmp_path: Path, xgb_regressor: Any, numeric: Any
) -> None:
    df, _ = numeric
    path = tmp_path / "model"
    modelpack.save_model(xgb_regressor, path, input_example=df.head(3))
    expected = xgb_regressor.predict(df.head(20))
    _check_mlflow_manifest(path, ["trip_distance", "zone"], df.head(3))
    _close(mlflow.pyfunc.load_model(str(path)).predict(df.head(20)), expected)
    native = mlflow.xgboost.load_model(str(path))
    assert isinstance(native, xgb.XGBRegressor)
    _close(native.predict(df.head(20)), expected)


class ScaledDistance(modelpack.PythonModel):
    """A custom model reading its factor from an artifact file."""

    def load_context(self, context: Any) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input["trip_distance"].to_numpy() * self.factor


def test_modelpack_python_model_with_artifact_loads_in_mlflow(tmp_path: Path, taxi: Any) -> None:
    frame, records, _ = taxi
    factor = tmp_path / "factor.txt"
    factor.write_text("2.5")
    path = tmp_path / "model"
    modelpack.save_model(
        ScaledDistance(), path, artifacts={"factor": str(factor)}, input_example=frame.head(3)
    )
    factor.write_text("99")  # the model uses its own copy of the artifact
    expected = frame["trip_distance"].head(20).to_numpy() * 2.5
    _check_mlflow_manifest(path, ["PU_DO", "trip_distance"], frame.head(3))
    pyfunc = mlflow.pyfunc.load_model(str(path))
    _close(pyfunc.predict(frame.head(20)), expected)
    _close(pyfunc.predict(records[:20]), expected)


def test_modelpack_callable_loads_in_mlflow(tmp_path: Path, taxi: Any) -> None:
    frame, _, _ = taxi
    path = tmp_path / "model"
    modelpack.save_model(_plus_one, path, input_example=frame.head(3))
    _close(
        mlflow.pyfunc.load_model(str(path)).predict(frame.head(20)),
        frame["trip_distance"].head(20).to_numpy() + 1,
    )


def _plus_one(df: pd.DataFrame) -> np.ndarray:
    return df["trip_distance"].to_numpy() + 1.0


def test_mlflow_enforces_modelpack_signature(tmp_path: Path, taxi: Any, taxi_dv_lr: Any) -> None:
    """MLflow's own schema enforcement runs on our signature before our predict."""
    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    path = tmp_path / "model"
    modelpack.save_model(lr, path, preprocessor=dv, input_example=frame.head(3))
    pyfunc = mlflow.pyfunc.load_model(str(path))
    with pytest.raises(mlflow.exceptions.MlflowException, match="PU_DO"):
        pyfunc.predict(frame[["trip_distance"]].head(3))
    # Columns MLflow does not know are dropped by MLflow before they reach our loader.
    extra = frame.head(3).assign(note="x")
    _close(pyfunc.predict(extra), lr.predict(dv.transform(frame.head(3).to_dict("records"))))


def test_tensor_signature_and_ndarray_example_both_ways(tmp_path: Path, mlflow_dirs: Any) -> None:
    """A model fitted on a plain array: a tensor signature and an ndarray input example."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    lr = LinearRegression().fit(x, x @ np.array([1.0, -2.0, 0.5]))
    expected = lr.predict(x[:5])

    ours = tmp_path / "modelpack-written"
    modelpack.save_model(lr, ours, input_example=x[:2])
    meta = Model.load(str(ours))
    assert meta.signature.inputs.is_tensor_spec()
    np.testing.assert_allclose(meta.load_input_example(str(ours)), x[:2])
    _close(mlflow.pyfunc.load_model(str(ours)).predict(x[:5]), expected)

    theirs = mlflow_dirs(
        "sklearn-ndarray",
        lambda p: mlflow.sklearn.save_model(
            lr, p, input_example=x[:2], serialization_format="skops", pip_requirements=_SK_REQS
        ),
    )
    model = modelpack.load_model(theirs)
    assert model.input_schema is not None and model.input_schema.is_tensor
    _close(model.predict(x[:5]), expected)


class MlflowScaled(mlflow.pyfunc.PythonModel):
    """An MLflow custom model (MLflow's ``predict(context, model_input, params)`` form)."""

    # MLflow's type-hint validation of predict is beside the point here: it warns about hints
    # that are missing or too loose (through a filter of its own that a test cannot override).
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input["trip_distance"].to_numpy() * self.factor


def test_mlflow_custom_python_model_loads_in_modelpack(tmp_path: Path, taxi: Any) -> None:
    frame, records, _ = taxi
    factor = tmp_path / "factor.txt"
    factor.write_text("1.5")
    path = tmp_path / "mlflow-custom"
    mlflow.pyfunc.save_model(
        str(path),
        python_model=MlflowScaled(),
        artifacts={"factor": str(factor)},
        input_example=frame.head(3),
        pip_requirements=["pandas"],
    )
    model = modelpack.load_model(path)
    assert model.flavor == "python_function"
    expected = frame["trip_distance"].head(10).to_numpy() * 1.5
    _close(model.predict(frame.head(10)), expected)
    _close(model.predict(records[:10]), expected)
