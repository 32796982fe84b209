"""The Spark UDF on a real local Spark (``local[2]``): results equal in-process predict.

One Spark session serves every test here (starting Spark takes a while). Skipped only where
PySpark (``pip install "modelpack[spark]"``) or a Java runtime is missing.
"""

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
from modelpack.batch import BatchError

pytest.importorskip("pyspark", reason='PySpark is not installed (pip install "modelpack[spark]")')
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs a Java runtime and none was found", allow_module_level=True)

pytestmark = [
    pytest.mark.slow,
    # PySpark announces that it does not fully support pandas 3 yet
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("modelpack-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "40")  # several batches a task
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def trips_df(spark: Any, trips: Any) -> Any:
    """200 trips in 3 partitions, so the UDF runs over several Arrow batches and tasks."""
    return spark.createDataFrame(trips.head(200)).repartition(3, "id").cache()


def _sorted(rows: list[Any]) -> tuple[np.ndarray, list[Any]]:
    rows = sorted(rows, key=lambda r: r["id"])
    return np.array([r["id"] for r in rows]), [r["out"] for r in rows]


def _expected(model_dir: Path, trips: Any, ids: np.ndarray) -> Any:
    frame = trips.set_index("id").loc[ids, ["PU_DO", "trip_distance"]].reset_index(drop=True)
    return modelpack.load_model(model_dir).predict(frame)


def test_positional_columns_match_in_process_predict(
    taxi_model_dir: Path, trips: Any, trips_df: Any, spark: Any
) -> None:
    udf = modelpack.spark_udf(spark, str(taxi_model_dir), result_type="double")
    rows = trips_df.select("id", udf("PU_DO", "trip_distance").alias("out")).collect()
    ids, out = _sorted(rows)
    assert len(ids) == 200
    np.testing.assert_allclose(out, _expected(taxi_model_dir, trips, ids), rtol=1e-12)


def test_struct_column_matches_by_name(
    taxi_model_dir: Path, trips: Any, trips_df: Any, spark: Any
) -> None:
    from pyspark.sql.functions import struct

    udf = modelpack.spark_udf(spark, str(taxi_model_dir), result_type="float")
    # every column, in another order, with an extra one: the names decide
    reordered = struct("trip_distance", "id", "PU_DO")
    ids, out = _sorted(trips_df.select("id", udf(reordered).alias("out")).collect())
    expected = _expected(taxi_model_dir, trips, ids).astype(np.float32)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.fixture
def two_output_model(tmp_path: Path, trips: Any) -> Path:
    def predict(frame: Any) -> Any:
        distance = frame["trip_distance"].to_numpy()
        return np.column_stack([distance, distance * 2])

    path = tmp_path / "two-outputs"
    modelpack.pyfunc.save_model(
        predict, path, input_example=trips[["PU_DO", "trip_distance"]].head()
    )
    return path


def test_array_results(two_output_model: Path, trips_df: Any, spark: Any) -> None:
    udf = modelpack.spark_udf(spark, str(two_output_model), result_type="array<double>")
    rows = trips_df.select("id", "trip_distance", udf("PU_DO", "trip_distance").alias("out"))
    for row in rows.collect():
        assert row["out"] == [row["trip_distance"], row["trip_distance"] * 2]


def test_string_results(tmp_path: Path, trips: Any, trips_df: Any, spark: Any) -> None:
    def predict(frame: Any) -> Any:
        return np.where(frame["trip_distance"].to_numpy() > 5, "long", "short")

    path = tmp_path / "labels"
    modelpack.pyfunc.save_model(
        predict, path, input_example=trips[["PU_DO", "trip_distance"]].head()
    )
    udf = modelpack.spark_udf(spark, str(path), result_type="string")
    for row in trips_df.select(
        "trip_distance", udf("PU_DO", "trip_distance").alias("out")
    ).collect():
        assert row["out"] == ("long" if row["trip_distance"] > 5 else "short")


def test_the_model_is_shipped_so_executors_need_no_store(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, trips_df: Any, spark: Any
) -> None:
    """Resolve a registry URI on the driver, then take the whole store away before scoring."""
    modelpack.register_model(str(taxi_model_dir), "nyc-taxi-regressor")
    modelpack.set_alias("nyc-taxi-regressor", "champion", 1)
    udf = modelpack.spark_udf(spark, "models:/nyc-taxi-regressor@champion", result_type="double")
    from modelpack._store import close_stores

    close_stores()
    shutil.rmtree(tmp_path / "modelpack-store")
    ids, out = _sorted(trips_df.select("id", udf("PU_DO", "trip_distance").alias("out")).collect())
    np.testing.assert_allclose(out, _expected(taxi_model_dir, trips, ids), rtol=1e-12)


@pytest.mark.parametrize("bad", ["decimal", "map<string,double>", "array<struct<a:int>>"])
def test_unsupported_result_type(taxi_model_dir: Path, spark: Any, bad: str) -> None:
    with pytest.raises(BatchError, match="unsupported result_type"):
        modelpack.spark_udf(spark, str(taxi_model_dir), result_type=bad)


def test_spark_types_are_accepted(
    taxi_model_dir: Path, trips: Any, trips_df: Any, spark: Any
) -> None:
    from pyspark.sql.types import ArrayType, DoubleType

    udf = modelpack.spark_udf(spark, str(taxi_model_dir), result_type=ArrayType(DoubleType()))
    ids, out = _sorted(trips_df.select("id", udf("PU_DO", "trip_distance").alias("out")).collect())
    expected = _expected(taxi_model_dir, trips, ids)
    np.testing.assert_allclose([v[0] for v in out], expected, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:the saved model refers to module")
def test_the_model_loads_once_per_python_worker(
    tmp_path: Path, trips: Any, trips_df: Any, spark: Any
) -> None:
    log = tmp_path / "calls.log"

    class Counting(modelpack.PythonModel):
        def load_context(self, context: Any) -> None:
            with open(log, "a") as f:
                f.write(f"load {os.getpid()}\n")

        def predict(self, model_input: Any, params: Any = None) -> Any:
            with open(log, "a") as f:
                f.write(f"predict {os.getpid()}\n")
            return model_input["trip_distance"].to_numpy()

    path = tmp_path / "counting"
    modelpack.pyfunc.save_model(
        Counting(), path, input_example=trips[["PU_DO", "trip_distance"]].head()
    )
    log.unlink(missing_ok=True)
    udf = modelpack.spark_udf(spark, str(path))
    assert trips_df.select(udf("PU_DO", "trip_distance")).count() == 200
    rows = trips_df.select("trip_distance", udf("PU_DO", "trip_distance").alias("out")).collect()
    assert all(r["out"] == r["trip_distance"] for r in rows)
    events = [line.split() for line in log.read_text().splitlines()]
    loads = [pid for kind, pid in events if kind == "load"]
    predicts = [pid for kind, pid in events if kind == "predict"]
    assert len(loads) == len(set(loads)) <= 2  # local[2]: at most two Python workers
    assert len(predicts) >= 6 > len(loads)  # 200 rows, 3 partitions, 40-row Arrow batches
    assert set(predicts) <= set(loads)


# Last: a failing task costs its Python worker, and starting a new one is slow.
def test_too_many_columns_is_a_clear_error(taxi_model_dir: Path, trips_df: Any, spark: Any) -> None:
    udf = modelpack.spark_udf(spark, str(taxi_model_dir))
    with pytest.raises(Exception, match=r"the model takes 2 column\(s\) \(PU_DO, trip_distance\)"):
        trips_df.select(udf("id", "PU_DO", "trip_distance")).collect()
