"""Bad rows under both error policies, failing models, and interrupted runs: never a partial file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
import modelpack.batch
from modelpack.batch import BadRowError, BatchError
from modelpack.exceptions import MissingDependencyError

from .conftest import leftovers, read_frame, run_cli, write_frame


def _csv_with_bad_rows(trips: Any, path: Path) -> list[int]:
    """The first 20 trips as CSV with four broken rows; returns their 1-based row numbers."""
    lines = ["id,PU_DO,trip_distance"]
    lines += [f"{r.id},{r.PU_DO},{r.trip_distance}" for r in trips.head(20).itertuples()]
    lines[4] = "4,1_2,abc"  # not a number
    lines[5] = "5,1_2"  # a field short
    lines[9] = "9,7_9,"  # empty: the model refuses NaN
    lines[10] = "10,7_9,NA"  # a null marker, likewise
    path.write_text("\n".join(lines) + "\n")
    return [4, 5, 9, 10]


def _jsonl_with_bad_rows(trips: Any, path: Path) -> list[int]:
    import json

    records = trips.head(12).to_dict(orient="records")
    lines = [
        json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
        for r in records
    ]
    lines[2] = '{"id": 3, "PU_DO": "1_2", "trip_distance": 1.0'  # not valid JSON
    lines[5] = '{"id": 6, "PU_DO": "1_2", "trip_distance": "far"}'  # wrong type
    lines[6] = '{"id": 7, "PU_DO": "1_2"}'  # missing value
    lines.insert(8, "")  # a blank line is ignored but still counts as a line
    lines[10] = '{"id": 10, "PU_DO": 5, "trip_distance": 1.0}'  # line 11: wrong type
    path.write_text("\n".join(lines) + "\n")
    return [3, 6, 7, 11]


def _parquet_with_bad_rows(trips: Any, path: Path) -> list[int]:
    frame = trips.head(15).copy()
    frame.loc[[2, 7], "trip_distance"] = None  # rows 3 and 8
    write_frame(frame, path)
    return [3, 8]


_BUILDERS = {
    "csv": _csv_with_bad_rows,
    "jsonl": _jsonl_with_bad_rows,
    "parquet": _parquet_with_bad_rows,
}


@pytest.mark.parametrize("batch_size", [4, 1000], ids=["batch4", "batch1000"])
def test_skip_scores_every_good_row_and_names_the_bad_ones(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, fmt: str, batch_size: int
) -> None:
    source = tmp_path / f"bad.{fmt}"
    bad_rows = _BUILDERS[fmt](trips, source)
    target = tmp_path / "out.csv"
    summary = modelpack.predict_file(
        taxi_model_dir,
        source,
        output=target,
        keep_columns=["id"],
        on_error="skip",
        batch_size=batch_size,
    )
    assert [b.row for b in summary.bad_rows] == bad_rows
    assert summary.bad_row_count == len(bad_rows)
    out = read_frame(target)
    # ids equal row numbers in these files, except after the blank line in the JSONL file
    bad_ids = [r - 1 if fmt == "jsonl" and r > 9 else r for r in bad_rows]
    assert out["id"].tolist() == [i for i in range(1, summary.rows_read + 1) if i not in bad_ids]
    model = modelpack.load_model(taxi_model_dir)
    good = trips.set_index("id").loc[out["id"], ["PU_DO", "trip_distance"]]
    np.testing.assert_allclose(out["prediction"], model.predict(good), rtol=1e-12)


def test_skip_on_the_command_line_reports_rows(
    tmp_path: Path, taxi_model_dir: Path, trips: Any
) -> None:
    source = tmp_path / "bad.csv"
    _csv_with_bad_rows(trips, source)
    target = tmp_path / "out.csv"
    result = run_cli(
        "predict",
        str(taxi_model_dir),
        "-i",
        str(source),
        "-o",
        str(target),
        "--on-error",
        "skip",
        "--batch-size",
        "4",
    )
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "skipped row 4: column 'trip_distance': 'abc' is not a double" in stderr
    assert "skipped row 5: expected 3 fields, found 2" in stderr
    assert "skipped row 9: " in stderr and "(no value in trip_distance)" in stderr
    assert "skipped row 10: " in stderr
    assert "scored 16 rows" in stderr and "skipped 4 bad rows" in stderr
    assert len(read_frame(target)) == 16


@pytest.mark.parametrize("batch_size", [4, 1000], ids=["batch4", "batch1000"])
def test_fail_stops_at_the_first_bad_row_and_writes_nothing(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, fmt: str, batch_size: int
) -> None:
    source = tmp_path / f"bad.{fmt}"
    first = _BUILDERS[fmt](trips, source)[0]
    target = tmp_path / f"out.{fmt}"
    with pytest.raises(BadRowError, match=f"^row {first}: ") as info:
        modelpack.predict_file(taxi_model_dir, source, output=target, batch_size=batch_size)
    assert info.value.row == first
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_fail_on_the_command_line(tmp_path: Path, taxi_model_dir: Path, trips: Any) -> None:
    source = tmp_path / "bad.csv"
    _csv_with_bad_rows(trips, source)
    target = tmp_path / "out.csv"
    result = run_cli("predict", str(taxi_model_dir), "-i", str(source), "-o", str(target))
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "modelpack: error: row 4: column 'trip_distance': 'abc' is not a double" in stderr
    assert "--on-error skip" in stderr
    assert "Traceback" not in stderr
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_fail_names_the_earliest_bad_row_within_a_chunk(
    tmp_path: Path, taxi_model_dir: Path
) -> None:
    # row 2 only fails in the model, row 3 already fails to decode: row 2 comes first
    source = tmp_path / "bad.csv"
    source.write_text("PU_DO,trip_distance\n1_2,1.0\n1_2,\n1_2,abc\n1_2,2.0\n")
    with pytest.raises(BadRowError, match="^row 2: ") as info:
        modelpack.predict_file(taxi_model_dir, source, output=tmp_path / "o.csv")
    assert info.value.row == 2


def test_when_no_row_can_be_scored_the_run_fails(tmp_path: Path, taxi_model_dir: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("PU_DO,trip_distance\n1_2,\n7_9,\n")
    with pytest.raises(BatchError, match=r"no row could be scored \(2 bad rows; the first: row 1"):
        modelpack.predict_file(taxi_model_dir, source, output=tmp_path / "o.csv", on_error="skip")
    assert not (tmp_path / "o.csv").exists()


@pytest.fixture
def exploding_model(tmp_path: Path, trips: Any) -> Path:
    """Raises a RuntimeError (not a data error) when a trip is longer than 1000 miles."""

    def predict(frame: Any) -> Any:
        if (frame["trip_distance"] > 1000).any():
            raise RuntimeError("boom")
        return frame["trip_distance"].to_numpy() * 2

    path = tmp_path / "exploding"
    modelpack.pyfunc.save_model(
        predict, path, input_example=trips[["PU_DO", "trip_distance"]].head()
    )
    return path


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_a_model_failing_on_a_later_chunk_leaves_no_output(
    tmp_path: Path, exploding_model: Path, trips: Any, policy: str
) -> None:
    frame = trips.copy()
    frame.loc[1999, "trip_distance"] = 5000.0  # row 2000, in the fourth chunk of 500
    source = write_frame(frame, tmp_path / "trips.parquet")
    target = tmp_path / "out.parquet"
    result = run_cli(
        "predict",
        str(exploding_model),
        "-i",
        str(source),
        "-o",
        str(target),
        "--batch-size",
        "500",
        "--on-error",
        policy,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "the model failed on rows 1501-2000: RuntimeError: boom" in stderr
    assert not target.exists()
    assert leftovers(tmp_path) == []


@pytest.fixture
def slow_model(tmp_path: Path, trips: Any) -> Path:
    """Sleeps on every call, so a run over many small chunks takes a few seconds."""

    def predict(frame: Any) -> Any:
        import time

        time.sleep(0.05)
        return frame["trip_distance"].to_numpy()

    path = tmp_path / "slow"
    modelpack.pyfunc.save_model(
        predict, path, input_example=trips[["PU_DO", "trip_distance"]].head()
    )
    return path


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_an_interrupted_run_leaves_no_output(
    tmp_path: Path, slow_model: Path, trips: Any, sig: signal.Signals, code: int
) -> None:
    source = write_frame(trips, tmp_path / "trips.csv")
    target = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelpack",
            "predict",
            str(slow_model),
            "-i",
            str(source),
            "-o",
            str(target),
            "--batch-size",
            "20",
        ],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(tmp_path), "the run should be writing its temporary output by now"
    time.sleep(0.3)  # let a few chunks go through
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr.decode()
    assert not target.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("library", ["pyarrow", "pandas"])
def test_missing_library_names_the_batch_extra(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    model = modelpack.load_model(taxi_model_dir)
    source = write_frame(trips.head(5), tmp_path / "trips.csv")
    monkeypatch.setitem(sys.modules, library, None)  # what an uninstalled library looks like
    with pytest.raises(MissingDependencyError, match=r'pip install "modelpack\[batch\]"') as info:
        modelpack.batch.predict_file(model, source, output=tmp_path / "out.csv")
    assert info.value.extra == "batch"
    assert not (tmp_path / "out.csv").exists() and leftovers(tmp_path) == []
