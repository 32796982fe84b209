"""predict_method in batch scoring: ``modelpack predict --predict-method`` in a real subprocess,
``predict_file(..., predict_method=)`` and ``spark_udf(..., predict_method=)`` on a local Spark,
each compared with calling the raw scikit-learn method."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.exceptions import SchemaError

from .conftest import read_frame, run_cli, write_frame


@pytest.fixture(scope="module")
def iris() -> Any:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    X.insert(0, "id", range(len(X)))
    return X, y


@pytest.fixture(scope="module")
def classifiers(iris: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """(raw estimator, saved directory) for a 3-class pipeline and a binary one with text labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    features = X.drop(columns="id")
    root = tmp_path_factory.mktemp("classifiers")
    out = {}
    labels = {"three": y.to_numpy(), "binary": np.where(y == 0, "setosa", "other")}
    for name, target in labels.items():
        raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        raw.fit(features, target)
        path = root / name
        modelpack.save_model(raw, path, input_example=features.head())
        out[name] = (raw, path)
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("which", "method"),
    [
        ("three", "predict_proba"),
        ("three", "predict_log_proba"),
        ("three", "decision_function"),
        ("binary", "predict_proba"),
        ("binary", "decision_function"),
        ("binary", "predict"),
    ],
)
def test_cli_writes_one_column_per_class(
    tmp_path: Path, iris: Any, classifiers: Any, fmt: str, which: str, method: str
) -> None:
    X, _ = iris
    raw, model_dir = classifiers[which]
    src = write_frame(X, tmp_path / f"in.{fmt}")
    dst = tmp_path / f"out.{fmt}"
    args = ["-i", str(src), "-o", str(dst), "--keep-columns", "id", "--batch-size", "40"]
    result = run_cli("predict", str(model_dir), *args, "--predict-method", method)
    assert result.returncode == 0, result.stderr.decode()
    out = read_frame(dst)
    assert out["id"].tolist() == X["id"].tolist()
    expected = getattr(raw, method)(X.drop(columns="id"))
    if expected.ndim == 1:
        assert list(out.columns) == ["id", "prediction"]
        if method == "predict":
            assert out["prediction"].tolist() == expected.tolist()
        else:
            np.testing.assert_allclose(out["prediction"], expected, rtol=1e-9)
    else:
        assert list(out.columns) == ["id", *(f"prediction_{c}" for c in raw.classes_)]
        np.testing.assert_allclose(out.drop(columns="id").to_numpy(), expected, rtol=1e-9)


def test_cli_method_the_model_lacks(tmp_path: Path, iris: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = iris
    model_dir = tmp_path / "regressor"
    modelpack.save_model(LinearRegression().fit(X.drop(columns="id"), y), model_dir)
    src = write_frame(X, tmp_path / "in.csv")
    dst = tmp_path / "out.csv"
    result = run_cli(
        "predict", str(model_dir), "-i", str(src), "-o", str(dst), "--predict-method",
        "predict_proba",
    )  # fmt: skip
    assert result.returncode != 0
    err = result.stderr.decode()
    assert "predict_method='predict_proba': this model has no such method; it has predict" in err
    assert not dst.exists()
    result = run_cli("predict", str(model_dir), "-i", str(src), "-o", "-", "--predict-method", "x")
    assert result.returncode == 2 and b"invalid choice" in result.stderr


def test_predict_file_takes_predict_method(tmp_path: Path, iris: Any, classifiers: Any) -> None:
    from modelpack.batch import predict_file

    X, _ = iris
    raw, model_dir = classifiers["three"]
    src = write_frame(X, tmp_path / "in.jsonl")
    summary = predict_file(
        model_dir, src, output=tmp_path / "out.csv", predict_method="predict_proba"
    )
    assert summary.rows_scored == len(X)
    out = read_frame(tmp_path / "out.csv")
    assert list(out.columns) == ["prediction_0", "prediction_1", "prediction_2"]
    np.testing.assert_allclose(out.to_numpy(), raw.predict_proba(X.drop(columns="id")), rtol=1e-9)
    with pytest.raises(SchemaError, match="has no such method"):
        predict_file(model_dir, src, output=tmp_path / "o2.csv", predict_method="transform")
    assert not (tmp_path / "o2.csv").exists()


# ----------------------------------------------------------------------------------- Spark
def _spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if not _spark_available():
        pytest.skip("PySpark or a Java runtime is missing")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("modelpack-predict-method")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # PySpark on pandas 3
def test_spark_udf_predict_proba(spark: Any, iris: Any, classifiers: Any) -> None:
    from pyspark.sql import types as T

    X, _ = iris
    raw, model_dir = classifiers["binary"]
    df = spark.createDataFrame(X).repartition(2)
    features = [c for c in X.columns if c != "id"]
    expected = raw.predict_proba(X[features])

    as_array = modelpack.spark_udf(
        spark, str(model_dir), result_type="array<double>", predict_method="predict_proba"
    )
    rows = sorted(df.select("id", as_array(*features).alias("p")).collect(), key=lambda r: r.id)
    np.testing.assert_allclose([r.p for r in rows], expected, rtol=1e-9)

    # a struct result names its fields after the classes, in any order
    struct = T.StructType(
        [T.StructField("setosa", T.DoubleType()), T.StructField("other", T.DoubleType())]
    )
    named = modelpack.spark_udf(
        spark, str(model_dir), result_type=struct, predict_method="predict_proba"
    )
    rows = sorted(df.select("id", named(*features).alias("p")).collect(), key=lambda r: r.id)
    column = {c: i for i, c in enumerate(raw.classes_)}
    np.testing.assert_allclose([r.p.setosa for r in rows], expected[:, column["setosa"]])
    np.testing.assert_allclose([r.p.other for r in rows], expected[:, column["other"]])

    decision = modelpack.spark_udf(spark, str(model_dir), predict_method="decision_function")
    rows = sorted(df.select("id", decision(*features).alias("d")).collect(), key=lambda r: r.id)
    np.testing.assert_allclose([r.d for r in rows], raw.decision_function(X[features]), rtol=1e-9)


def test_spark_udf_refuses_an_unknown_method_name_on_the_driver(
    spark: Any, classifiers: Any
) -> None:
    _, model_dir = classifiers["three"]
    with pytest.raises(SchemaError, match="no such method"):
        modelpack.spark_udf(spark, str(model_dir), predict_method="transform")
