"""A small synthetic taxi-trip data set, so the examples run anywhere with no download."""

from __future__ import annotations

import numpy as np
import pandas as pd

ZONES = ["43_151", "1_2", "7_9", "161_236", "132_265"]


def trips(n: int = 2_000, seed: int = 42) -> tuple[pd.DataFrame, np.ndarray]:
    """Trips with a pick-up/drop-off pair (PU_DO), a distance, and a duration in minutes."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "PU_DO": rng.choice(ZONES, n),
            "trip_distance": rng.uniform(0.3, 15.0, n).round(2),
        }
    )
    congestion = frame["PU_DO"].map({z: i * 1.7 for i, z in enumerate(ZONES)}).to_numpy()
    duration = 3.0 + 2.8 * frame["trip_distance"].to_numpy() + congestion
    return frame, duration + rng.normal(0, 1.0, n)
