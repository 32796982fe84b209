"""Fixtures for the autolog tests: a store per test, and autologging always switched off after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._autolog import autolog


@pytest.fixture(autouse=True)
def store(tmp_path: Path) -> Iterator[Path]:
    """A temporary store; afterwards autolog is disabled and no run or store leaks out."""
    from modelpack import _store

    path = tmp_path / "store"
    modelpack.set_store_uri(path)
    try:
        yield path
    finally:
        autolog(disable=True)
        while modelpack.active_run() is not None:
            modelpack.end_run()
        modelpack.set_store_uri(None)
        _store.close_stores()


@pytest.fixture(scope="session")
def regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (200, 3))
    y = X @ np.array([1.5, -2.0, 0.7]) + rng.normal(0, 0.1, 200)
    return X, y


@pytest.fixture(scope="session")
def classification() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (200, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.7, 200) > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def records() -> tuple[list[dict[str, Any]], np.ndarray]:
    """DictVectorizer input: a categorical zone and a numeric distance."""
    rng = np.random.default_rng(2)
    zones = ["a_b", "c_d", "e_f"]
    rows = [
        {"PU_DO": zones[i % 3], "trip_distance": float(d)}
        for i, d in enumerate(rng.uniform(0.5, 12.0, 150).round(2))
    ]
    y = np.array([2.0 + 3.1 * r["trip_distance"] + 1.5 * zones.index(r["PU_DO"]) for r in rows])
    return rows, y
