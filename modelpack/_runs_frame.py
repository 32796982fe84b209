"""Runs as a pandas DataFrame, with the columns and dtypes MLflow's ``search_runs`` gives.

One row per run: ``run_id``, ``experiment_id``, ``status``, ``artifact_uri``, ``start_time``
and ``end_time`` (UTC timestamps; missing end times are NaT), then ``metrics.<key>`` (floats,
NaN where a run lacks the metric), ``params.<key>`` and ``tags.<key>`` (strings, missing as
NA), each group in the order its keys first appear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from modelpack._optional import require

if TYPE_CHECKING:
    import pandas as pd

    from modelpack._store import Run

__all__ = ["require_pandas", "runs_frame"]

_INFO = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def require_pandas() -> ModuleType:
    return require(
        "pandas",
        None,
        purpose="search_runs(output_format='pandas') (or pass output_format='list')",
    )


def _times(pandas: ModuleType, values: list[int | None]) -> Any:
    """Milliseconds -> UTC timestamps; a column with no value at all stays None, as MLflow's."""
    if all(v is None for v in values):
        return values
    return pandas.to_datetime(pandas.array(values, dtype="Int64"), unit="ms", utc=True)


def _keys(groups: Sequence[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for key in group:
            seen.setdefault(key)
    return list(seen)


def runs_frame(runs: Sequence[Run], pandas: ModuleType) -> pd.DataFrame:
    """The DataFrame of ``runs``, in their order."""
    data: dict[str, Any] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
    }
    if not runs:
        return pandas.DataFrame({column: [] for column in _INFO})
    data["start_time"] = _times(pandas, [r.info.start_time for r in runs])
    data["end_time"] = _times(pandas, [r.info.end_time for r in runs])
    metrics = [r.data.metrics for r in runs]
    for key in _keys(metrics):
        data[f"metrics.{key}"] = [m.get(key, math.nan) for m in metrics]
    for prefix, groups in (
        ("params", [r.data.params for r in runs]),
        ("tags", [r.data.tags for r in runs]),
    ):
        for key in _keys(groups):
            data[f"{prefix}.{key}"] = [g.get(key) for g in groups]
    return pandas.DataFrame(data)
