"""runs/search answers each metric's latest value with its step and timestamp, as runs/get
does (through a real server of each kind)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from modelpack._store import Metric, NewRun, now_ms

pytestmark = pytest.mark.filterwarnings("error")


def test_searched_runs_carry_the_latest_metrics_step_and_timestamp(rest: Any, name: str) -> None:
    exp = rest.get_or_create_experiment(name)
    run = rest.create_run(NewRun(exp.experiment_id, "r", "me", now_ms()))
    t0 = now_ms()
    rest.log_batch(
        run.run_id,
        metrics=[
            Metric("loss", 3.0, t0 + 10, 3),
            Metric("loss", 2.0, t0 + 20, 7),
            Metric("loss", 9.0, t0 + 30, 5),  # later, but an earlier step
            Metric("r2", math.nan, t0 + 40, 0),
        ],
    )
    rest.log_batch(run.run_id, metrics=[Metric("acc", 0.5, t0 + 50, 11)])
    found = rest.search_runs([exp.experiment_id])
    assert [r.run_id for r in found] == [run.run_id]
    for got in (found[0], rest.get_run(run.run_id)):
        latest = got.data.latest_metrics
        assert latest["loss"] == Metric("loss", 2.0, t0 + 20, 7)
        assert latest["acc"] == Metric("acc", 0.5, t0 + 50, 11)
        assert (latest["r2"].timestamp, latest["r2"].step) == (t0 + 40, 0)
        assert math.isnan(latest["r2"].value)
        assert got.data.metrics["loss"] == 2.0 and got.data.metrics["acc"] == 0.5
