"""Data shared by the built-in flavors' conformance tests (the taxi fixtures live in tests/)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def taxi_numeric(taxi: Any) -> tuple[Any, np.ndarray]:
    """The taxi data as a numeric DataFrame (a double and an int64 column) and its target."""
    import pandas as pd

    frame, _, y = taxi
    zones = {z: i for i, z in enumerate(sorted(frame["PU_DO"].unique()))}
    numeric = pd.DataFrame(
        {
            "trip_distance": frame["trip_distance"],
            "zone": frame["PU_DO"].map(zones).astype("int64"),
        }
    )
    return numeric, y
