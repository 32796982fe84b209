"""Fixtures for batch scoring: taxi trips written as CSV, Parquet and JSON Lines, and helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_taxi  # the root conftest (tests/ is on sys.path)

ROWS = 2_503  # not a multiple of any batch size the tests use


def write_frame(frame: Any, path: Path) -> Path:
    """Write ``frame`` in the format named by ``path``'s extension."""
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        # several row groups, so chunks also cross row-group boundaries
        frame.to_parquet(path, index=False, row_group_size=1000)
    else:
        frame.to_json(path, orient="records", lines=True, double_precision=15)
    return path


def read_frame(path: Path, fmt: str | None = None) -> Any:
    import pandas as pd

    fmt = fmt or path.suffix.lstrip(".")
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, orient="records", lines=True, precise_float=True)


def run_cli(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``python -m modelpack ARGS`` in a real subprocess (stderr decoded for assertions)."""
    result = subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=180,
    )
    return result


def leftovers(directory: Path) -> list[str]:
    """Temporary output files left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


@pytest.fixture(scope="session")
def trips() -> Any:
    """2,503 taxi trips with an ``id`` column first, then the model's two input columns."""
    frame, _, _ = make_taxi(ROWS, seed=7)
    frame.insert(0, "id", np.arange(1, ROWS + 1))
    return frame


@pytest.fixture
def expected(taxi_model_dir: Path, trips: Any) -> np.ndarray:
    """In-process predictions for the whole frame at once."""
    import modelpack

    return np.asarray(
        modelpack.load_model(taxi_model_dir).predict(trips[["PU_DO", "trip_distance"]])
    )


@pytest.fixture(params=["csv", "parquet", "jsonl"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)
