"""Fixtures for the store tests: a tiny model, clean run/store state, subprocess helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _clean_tracking_state() -> Iterator[None]:
    """No active run, store URI or experiment leaks from one test into the next."""
    yield
    import modelpack
    from modelpack import _store, _tracking

    while modelpack.active_run() is not None:
        modelpack.end_run()
    _tracking._active_experiment = None
    _tracking._last_run = None
    modelpack.set_store_uri(None)
    _store.close_stores()


@pytest.fixture(scope="session")
def tiny() -> tuple[Any, np.ndarray]:
    """A LinearRegression on a few rows, and its input."""
    from sklearn.linear_model import LinearRegression

    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    y = X @ np.array([1.5, -2.0]) + 0.5
    return LinearRegression().fit(X, y), X
