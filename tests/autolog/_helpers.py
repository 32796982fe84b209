"""Helpers shared by the autolog tests."""

from __future__ import annotations

from typing import Any

import modelpack


def all_runs() -> list[Any]:
    """Every run of the test's store, newest first."""
    return modelpack.search_runs(output_format="list")  # type: ignore[return-value]


def only_run() -> Any:
    """The single run of the test's store (fails when there are more or none)."""
    runs = all_runs()
    assert len(runs) == 1, [r.data.tags.get("estimator_name") for r in runs]
    return runs[0]
