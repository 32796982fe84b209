"""Scoring whole files in each format: results equal in-process predict, whatever the chunking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.batch import BatchError
from modelpack.exceptions import SchemaError

from .conftest import ROWS, leftovers, read_frame, run_cli, write_frame


def test_cli_scores_each_format(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, expected: np.ndarray, fmt: str
) -> None:
    source = write_frame(trips, tmp_path / f"trips.{fmt}")
    target = tmp_path / f"scored.{fmt}"
    result = run_cli(
        "predict",
        str(taxi_model_dir),
        "-i",
        str(source),
        "-o",
        str(target),
        "--batch-size",
        "1000",
        "--keep-columns",
        "id",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert f"scored {ROWS:,} rows" in result.stderr.decode()
    out = read_frame(target)
    assert list(out.columns) == ["id", "prediction"]
    np.testing.assert_array_equal(out["id"], trips["id"])
    np.testing.assert_allclose(out["prediction"], expected, rtol=1e-12)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("batch_size", [7, 1000, ROWS, ROWS + 1], ids=lambda n: f"batch{n}")
def test_chunk_boundaries_do_not_change_results(
    tmp_path: Path,
    taxi_model_dir: Path,
    trips: Any,
    expected: np.ndarray,
    fmt: str,
    batch_size: int,
) -> None:
    source = write_frame(trips, tmp_path / f"trips.{fmt}")
    target = tmp_path / "scored.parquet"
    summary = modelpack.predict_file(
        taxi_model_dir, source, output=target, batch_size=batch_size, keep_columns=["id"]
    )
    assert summary.rows_read == summary.rows_scored == ROWS
    assert summary.bad_row_count == 0
    out = read_frame(target)
    np.testing.assert_array_equal(out["id"], trips["id"])
    np.testing.assert_allclose(out["prediction"], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("out_name", "out_format"),
    [("scored.csv", None), ("scored.jsonl", None), ("scored.parquet", None), ("scored.txt", "csv")],
    ids=["csv", "jsonl", "parquet", "forced-csv"],
)
def test_output_format_from_name_or_flag(
    tmp_path: Path,
    taxi_model_dir: Path,
    trips: Any,
    expected: np.ndarray,
    out_name: str,
    out_format: str | None,
) -> None:
    source = write_frame(trips, tmp_path / "trips.parquet")
    target = tmp_path / out_name
    modelpack.predict_file(taxi_model_dir, source, output=target, output_format=out_format)
    out = read_frame(target, out_format)
    assert list(out.columns) == ["prediction"]
    np.testing.assert_allclose(out["prediction"], expected, rtol=1e-12)


def test_input_format_is_forced_with_format(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, expected: np.ndarray
) -> None:
    source = write_frame(trips, tmp_path / "trips.jsonl").rename(tmp_path / "trips.data")
    target = tmp_path / "scored.csv"
    modelpack.predict_file(taxi_model_dir, source, output=target, input_format="jsonl")
    np.testing.assert_allclose(read_frame(target)["prediction"], expected, rtol=1e-12)
    with pytest.raises(BatchError, match="cannot tell the format"):
        modelpack.predict_file(taxi_model_dir, source, output=target)


def test_keep_columns_all_and_in_the_given_order(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, expected: np.ndarray
) -> None:
    source = write_frame(trips, tmp_path / "trips.csv")
    everything = tmp_path / "all.csv"
    modelpack.predict_file(taxi_model_dir, source, output=everything, keep_columns=["*"])
    out = read_frame(everything)
    assert list(out.columns) == ["id", "PU_DO", "trip_distance", "prediction"]
    assert out["PU_DO"].tolist() == trips["PU_DO"].tolist()
    chosen = tmp_path / "chosen.parquet"
    modelpack.predict_file(
        taxi_model_dir,
        source,
        output=chosen,
        keep_columns=["trip_distance", "id"],
        prediction_column="minutes",
    )
    out = read_frame(chosen)
    assert list(out.columns) == ["trip_distance", "id", "minutes"]
    np.testing.assert_allclose(out["minutes"], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("keep", "column", "message"),
    [
        (["nope"], "prediction", "cannot keep column.*'nope'.*the input has id, PU_DO"),
        (["id"], "id", "prediction column 'id' has the name of a kept input column"),
    ],
    ids=["unknown-column", "name-clash"],
)
def test_keep_column_problems_are_clear_and_leave_nothing(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, keep: list[str], column: str, message: str
) -> None:
    source = write_frame(trips, tmp_path / "trips.csv")
    with pytest.raises(BatchError, match=message):
        modelpack.predict_file(
            taxi_model_dir,
            source,
            output=tmp_path / "out.csv",
            keep_columns=keep,
            prediction_column=column,
        )
    assert not (tmp_path / "out.csv").exists()
    assert leftovers(tmp_path) == []


def test_missing_model_column_fails_before_scoring(
    tmp_path: Path, taxi_model_dir: Path, trips: Any
) -> None:
    source = write_frame(trips[["id", "PU_DO"]], tmp_path / "trips.csv")
    result = run_cli(
        "predict", str(taxi_model_dir), "-i", str(source), "-o", str(tmp_path / "o.csv")
    )
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "the input has no column 'trip_distance', which the model needs" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "o.csv").exists()
    parquet = write_frame(trips[["id", "PU_DO"]], tmp_path / "trips.parquet")
    with pytest.raises(SchemaError, match="no column 'trip_distance'"):
        modelpack.predict_file(taxi_model_dir, parquet, output=tmp_path / "o.csv")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt_", ["csv", "jsonl"])
def test_empty_input_is_an_error(tmp_path: Path, taxi_model_dir: Path, fmt_: str) -> None:
    source = tmp_path / f"empty.{fmt_}"
    source.write_text("PU_DO,trip_distance\n" if fmt_ == "csv" else "")
    with pytest.raises(BatchError, match="holds no rows"):
        modelpack.predict_file(taxi_model_dir, source, output=tmp_path / "o.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name, "taxi-model"]


def test_output_may_not_overwrite_the_input(
    tmp_path: Path, taxi_model_dir: Path, trips: Any
) -> None:
    source = write_frame(trips, tmp_path / "trips.csv")
    with pytest.raises(BatchError, match="is the input file"):
        modelpack.predict_file(taxi_model_dir, source, output=source)
    assert len(read_frame(source)) == ROWS


def _multi_output_model(path: Path, trips: Any, kind: str) -> Path:
    import pandas as pd

    def predict(frame: Any) -> Any:
        distance = frame["trip_distance"].to_numpy()
        if kind == "frame":
            return pd.DataFrame({"low": distance * 2, "high": distance * 3})
        return np.column_stack([distance * 2, distance * 3])

    modelpack.pyfunc.save_model(
        predict, path, input_example=trips[["PU_DO", "trip_distance"]].head()
    )
    return path


@pytest.mark.parametrize(
    ("kind", "names"),
    [("array", ["prediction_0", "prediction_1"]), ("frame", ["prediction_low", "prediction_high"])],
)
def test_multi_output_models_get_one_column_per_output(
    tmp_path: Path, trips: Any, kind: str, names: list[str]
) -> None:
    model = _multi_output_model(tmp_path / "multi", trips, kind)
    source = write_frame(trips, tmp_path / "trips.parquet")
    for suffix in ("csv", "jsonl"):
        target = tmp_path / f"out.{suffix}"
        modelpack.predict_file(model, source, output=target, batch_size=600)
        out = read_frame(target)
        assert list(out.columns) == names
        np.testing.assert_allclose(out[names[0]], trips["trip_distance"] * 2, rtol=1e-12)
        np.testing.assert_allclose(out[names[1]], trips["trip_distance"] * 3, rtol=1e-12)
