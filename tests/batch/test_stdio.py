"""Standard input and output through a real subprocess, and the progress line on a terminal."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.batch import BatchError

from .conftest import ROWS, read_frame, run_cli, write_frame


@pytest.mark.parametrize(
    ("in_fmt", "out_fmt"),
    [("csv", "jsonl"), ("jsonl", "csv"), ("csv", None)],
    ids=["csv-to-jsonl", "jsonl-to-csv", "csv-same-format"],
)
def test_stdin_to_stdout(
    tmp_path: Path,
    taxi_model_dir: Path,
    trips: Any,
    expected: np.ndarray,
    in_fmt: str,
    out_fmt: str | None,
) -> None:
    source = write_frame(trips, tmp_path / f"trips.{in_fmt}")
    args = [
        "predict",
        str(taxi_model_dir),
        "-i",
        "-",
        "-o",
        "-",
        "--format",
        in_fmt,
        "--batch-size",
        "999",
        "--keep-columns",
        "id",
    ]
    if out_fmt:
        args += ["--output-format", out_fmt]
    result = run_cli(*args, stdin=source.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    captured = tmp_path / "stdout"
    captured.write_bytes(result.stdout)
    out = read_frame(captured, out_fmt or in_fmt)
    assert out["id"].tolist() == trips["id"].tolist()
    np.testing.assert_allclose(out["prediction"], expected, rtol=1e-12)
    assert "\r" not in result.stderr.decode()  # no progress line when stderr is not a terminal


def test_parquet_file_to_stdout(
    tmp_path: Path, taxi_model_dir: Path, trips: Any, expected: np.ndarray
) -> None:
    source = write_frame(trips, tmp_path / "trips.parquet")
    result = run_cli("predict", str(taxi_model_dir), "-i", str(source), "-o", "-")
    assert result.returncode == 0, result.stderr.decode()
    import pyarrow.parquet as pq

    out = pq.read_table(io.BytesIO(result.stdout))
    np.testing.assert_allclose(out.column("prediction").to_numpy(), expected, rtol=1e-12)


def test_parquet_on_stdin_is_refused_clearly(
    tmp_path: Path, taxi_model_dir: Path, trips: Any
) -> None:
    source = write_frame(trips, tmp_path / "trips.parquet")
    result = run_cli(
        "predict",
        str(taxi_model_dir),
        "-i",
        "-",
        "-o",
        "-",
        "--format",
        "parquet",
        stdin=source.read_bytes(),
    )
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "Parquet cannot be read from a pipe: its index sits at the end of the file" in stderr
    assert "Traceback" not in stderr
    assert result.stdout == b""


def test_stdin_needs_a_format(taxi_model_dir: Path) -> None:
    with pytest.raises(BatchError, match="cannot tell the format of standard input.*--format"):
        modelpack.predict_file(taxi_model_dir, "-", output="-")


def _run_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; returns the exit code and what it showed."""
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelpack", *args],
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not data:
            break
        shown += data
    os.close(main)
    return proc.wait(timeout=120), shown.decode(errors="replace")


def test_progress_line_on_a_terminal(tmp_path: Path, taxi_model_dir: Path, trips: Any) -> None:
    source = write_frame(trips, tmp_path / "trips.parquet")
    code, shown = _run_on_a_terminal(
        [
            "predict",
            str(taxi_model_dir),
            "-i",
            str(source),
            "-o",
            str(tmp_path / "o.csv"),
            "--batch-size",
            "500",
        ]
    )
    assert code == 0, shown
    assert f"{ROWS:,}/{ROWS:,} rows" in shown
    assert "rows/s" in shown and "ETA" in shown and "100%" in shown
    code, shown = _run_on_a_terminal(
        [
            "predict",
            str(taxi_model_dir),
            "-i",
            str(source),
            "-o",
            str(tmp_path / "o.csv"),
            "--no-progress",
        ]
    )
    assert code == 0, shown
    assert "rows/s)" in shown  # the closing summary
    assert "ETA" not in shown and "\r" not in shown.replace("\r\n", "\n")
