"""Helpers shared by the autolog tests."""

from __future__ import annotations

from typing import Any

import modelpack


def only_run() -> Any:
    """The single run of the test's store (fails when there are more or none)."""
    runs = modelpack.search_runs()
    assert len(runs) == 1, [r.data.tags.get("estimator_name") for r in runs]
    return runs[0]
