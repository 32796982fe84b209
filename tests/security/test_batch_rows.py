"""Batch scoring of hostile or careless input: a clear per-row error (or a skip), never a crash.

* A header-only CSV used to abort the process now and then (SIGABRT, "terminate called without
  an active exception", 2 runs in 191): Arrow's CSV reader reads ahead on a thread of its own,
  which took the GIL to read a Python file object and could still be doing so while the
  interpreter shut down. Readers now hand Arrow native files; the loop below runs the real
  thing many times and the white-box test pins the cause.
* NaN and infinities in CSV cells, and JSON records with differing keys, are bad rows: with
  ``--on-error fail`` one line naming the row; with ``skip`` they are listed and left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelpack.batch._io import open_reader


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelpack

    path = tmp_path_factory.mktemp("batch-rows") / "model"
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.2]})
    model = LinearRegression().fit(frame, np.array([1.0, 2.0, 3.0]))
    modelpack.save_model(model, path, input_example=frame.head(2))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=180,
        check=False,
    )


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("modelpack: ")]
    assert len(lines) == 1 and lines[0].startswith("modelpack: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# ------------------------------------------------------------------------------ header-only CSV
_READ_AND_FAIL = """
import sys
from modelpack.batch._io import open_reader
import pyarrow as pa
reader = open_reader(sys.argv[1], "csv", batch_size=100, types={"a": pa.float64(), "b": pa.float64()}, columns=None)
try:
    rows = sum(chunk.table.num_rows for chunk in reader)
finally:
    reader.close()
sys.exit(1 if rows == 0 else 0)
"""


def test_header_only_csv_never_aborts(tmp_path: Path) -> None:
    """The scoring run's reading path, ending in an error at once, 30 times in real processes."""
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "run.py").write_text(_READ_AND_FAIL)
    script = 'for i in $(seq 30); do "$0" run.py header.csv; echo "status $?"; done'
    proc = subprocess.run(
        ["sh", "-c", script, sys.executable],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    statuses = [line for line in proc.stdout.splitlines() if line.startswith("status")]
    assert statuses == ["status 1"] * 30, proc.stdout + proc.stderr
    assert "terminate called" not in proc.stderr


def test_header_only_csv_with_skip_is_one_line(tmp_path: Path, model: Path) -> None:
    (tmp_path / "header.csv").write_text("a,b\n")
    line = _error_line(
        _cli(
            "predict",
            str(model),
            "-i",
            "header.csv",
            "-o",
            "out.csv",
            "--on-error",
            "skip",
            cwd=tmp_path,
        )
    )
    assert "holds no rows" in line
    assert not (tmp_path / "out.csv").exists()


def test_arrow_reads_csv_without_calling_python(tmp_path: Path) -> None:
    """The cause, pinned: the file Arrow's read-ahead thread reads is an Arrow file."""
    import pyarrow as pa

    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    reader = open_reader(str(tmp_path / "x.csv"), "csv", batch_size=10, types={}, columns=None)
    try:
        stream = reader._stream  # type: ignore[attr-defined]
        assert isinstance(stream, pa.NativeFile) and not isinstance(stream, pa.PythonFile)
    finally:
        reader.close()


def test_csv_from_standard_input_is_read_by_arrow_too(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in.csv").write_text("a,b\n1,2\n3,4\n")
    with open(tmp_path / "in.csv", "rb") as stdin:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelpack",
                "predict",
                str(model),
                "-i",
                "-",
                "--format",
                "csv",
                "-o",
                "-",
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 3  # header and two predictions


# ------------------------------------------------------------------------------ bad cells
_NON_FINITE = "a,b\n1,2\n1,nan\n2,inf\n3,-inf\n4,NaN\n5,6\n"


def test_non_finite_cells_fail_on_the_first_bad_row(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in.csv").write_text(_NON_FINITE)
    line = _error_line(_cli("predict", str(model), "-i", "in.csv", "-o", "out.csv", cwd=tmp_path))
    assert "row 2" in line and "b" in line and "--on-error skip" in line
    assert not (tmp_path / "out.csv").exists()


def test_non_finite_cells_are_skipped_and_named(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in.csv").write_text(_NON_FINITE)
    proc = _cli(
        "predict", str(model), "-i", "in.csv", "-o", "out.csv", "--on-error", "skip", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    skipped = [line for line in proc.stderr.splitlines() if line.startswith("modelpack: skipped")]
    assert [line.split(":")[1].strip() for line in skipped] == [
        "skipped row 2",
        "skipped row 3",
        "skipped row 4",
        "skipped row 5",
    ]
    assert "infinite value in b" in skipped[1] and "infinite value in b" in skipped[2]
    assert "skipped 4 bad rows" in proc.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3  # header and rows 1, 6


# ------------------------------------------------------------------------------ differing keys
_RECORDS = (
    '{"a": 1, "b": 2}\n'
    '{"a": 1}\n'  # no b
    '{"b": 2, "c": 9, "a": 3}\n'  # another order and an extra key: fine
    '{"a": "x", "b": 1}\n'  # text where a number belongs
    '{"c": 1}\n'  # none of the model's keys
    '{"a": [1, 2], "b": 1}\n'  # a list where a number belongs
    '{"a": 5, "b": 6}\n'
)


def test_differing_keys_fail_on_the_first_bad_record(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in.jsonl").write_text(_RECORDS)
    line = _error_line(
        _cli("predict", str(model), "-i", "in.jsonl", "-o", "out.jsonl", cwd=tmp_path)
    )
    assert "row 2" in line


def test_differing_keys_are_skipped_per_record(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in.jsonl").write_text(_RECORDS)
    proc = _cli(
        "predict",
        str(model),
        "-i",
        "in.jsonl",
        "-o",
        "out.jsonl",
        "--on-error",
        "skip",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    skipped = [
        line for line in proc.stderr.splitlines() if line.startswith("modelpack: skipped row")
    ]
    assert [line.split(":")[1].strip() for line in skipped] == [
        "skipped row 2",
        "skipped row 4",
        "skipped row 5",
        "skipped row 6",
    ]
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 3  # records 1, 3 and 7
