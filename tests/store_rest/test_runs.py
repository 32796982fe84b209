"""Experiments and runs through a real tracking server (priority 1 of the REST store)."""

from __future__ import annotations

from typing import Any

import pytest

import modelpack
from modelpack._store import Metric, NewRun, ViewType, now_ms
from modelpack.exceptions import ModelExistsError, ModelNotFoundError


def test_store_is_the_rest_backend(rest: Any, server: Any) -> None:
    assert type(rest).__name__ == "RestStore"
    assert rest.uri == server.url


def test_experiments_create_get_search_delete(rest: Any, name: str) -> None:
    exp_id = rest.create_experiment(name, tags={"team": "taxi"})
    exp = rest.get_experiment(exp_id)
    assert (exp.name, exp.tags, exp.lifecycle_stage) == (name, {"team": "taxi"}, "active")
    assert rest.get_experiment_by_name(name).experiment_id == exp_id
    with pytest.raises(ModelExistsError):
        rest.create_experiment(name)
    found = rest.search_experiments(filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in found] == [exp_id]
    rest.set_experiment_tag(exp_id, "stage", "dev")
    rest.set_experiment_tag(exp_id, "team", None)
    assert rest.get_experiment(exp_id).tags == {"stage": "dev"}
    rest.rename_experiment(exp_id, name + "-2")
    assert rest.get_experiment(exp_id).name == name + "-2"
    rest.delete_experiment(exp_id)
    assert rest.get_experiment(exp_id).lifecycle_stage == "deleted"
    active = rest.search_experiments(ViewType.ACTIVE_ONLY)
    assert exp_id not in [e.experiment_id for e in active]
    rest.restore_experiment(exp_id)
    assert rest.get_experiment(exp_id).lifecycle_stage == "active"
    assert rest.get_or_create_experiment(name + "-2").experiment_id == exp_id


def test_unknown_ids_are_model_not_found(rest: Any) -> None:
    with pytest.raises(ModelNotFoundError):
        rest.get_run("0" * 32)
    with pytest.raises(ModelNotFoundError):
        rest.get_experiment("987654")
    with pytest.raises(ModelNotFoundError):
        rest.get_experiment_by_name("no-such-experiment-here")


def test_fluent_run_params_metrics_tags(rest: Any, name: str) -> None:
    modelpack.set_experiment(name)
    with modelpack.start_run(run_name="first") as run:
        modelpack.log_param("alpha", 0.5)
        modelpack.log_params({"l1": 1, "l2": "x"})
        for step in range(5):
            modelpack.log_metric("rmse", 10.0 - step, step=step)
        modelpack.set_tag("owner", "ana")
    got = modelpack.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.info.run_name == "first"
    assert got.data.params == {"alpha": "0.5", "l1": "1", "l2": "x"}
    assert got.data.metrics == {"rmse": 6.0}
    assert got.data.tags["owner"] == "ana"
    history = modelpack.get_metric_history(run.info.run_id, "rmse")
    assert [(m.step, m.value) for m in history] == [(s, 10.0 - s) for s in range(5)]


def test_log_batch_above_mlflow_request_limits(rest: Any, name: str) -> None:
    exp = rest.get_or_create_experiment(name)
    run = rest.create_run(NewRun(exp.experiment_id, "big", "me", now_ms()))
    params = {f"p{i}": str(i) for i in range(250)}
    metrics = [Metric("loss", float(i), now_ms(), i) for i in range(2500)]
    tags = {f"t{i}": "v" for i in range(150)}
    rest.log_batch(run.run_id, params=params, metrics=metrics, tags=tags)
    got = rest.get_run(run.run_id)
    assert got.data.params == params
    assert {k: v for k, v in got.data.tags.items() if k.startswith("t")} == tags
    assert len(rest.get_metric_history(run.run_id, "loss")) == 2500
    rest.delete_tag(run.run_id, "t0")
    assert "t0" not in rest.get_run(run.run_id).data.tags
    nan = [Metric("odd", float("nan"), now_ms(), 0), Metric("odd", float("inf"), now_ms(), 1)]
    rest.log_batch(run.run_id, metrics=nan)
    values = [m.value for m in rest.get_metric_history(run.run_id, "odd")]
    # MLflow's SQL store keeps infinity as the largest float
    assert values[0] != values[0] and values[1] >= 1.7e308


def test_search_runs_pages_filter_order(rest: Any, name: str) -> None:
    exp = rest.get_or_create_experiment(name)
    for i in range(23):
        run = rest.create_run(NewRun(exp.experiment_id, f"r{i}", "me", now_ms()))
        rest.log_batch(run.run_id, metrics=[Metric("m", float(i), now_ms(), 0)])
    seen: list[float] = []
    token = None
    while True:
        page = rest.search_runs(
            [exp.experiment_id],
            "metrics.m >= 3",
            max_results=5,
            order_by=["metrics.m DESC"],
            page_token=token,
        )
        assert len(page) <= 5
        seen.extend(r.data.metrics["m"] for r in page)
        token = page.token
        if not token:
            break
    assert seen == [float(i) for i in range(22, 2, -1)]
    frame = modelpack.search_runs([exp.experiment_id], order_by=["metrics.m ASC"])
    assert list(frame["metrics.m"]) == [float(i) for i in range(23)]


def test_delete_and_restore_run(rest: Any, name: str) -> None:
    exp = rest.get_or_create_experiment(name)
    run = rest.create_run(NewRun(exp.experiment_id, None, "me", now_ms(), {"k": "v"}))
    assert run.data.tags["k"] == "v"
    rest.delete_run(run.run_id)
    assert rest.get_run(run.run_id).info.lifecycle_stage == "deleted"
    assert not rest.search_runs([exp.experiment_id])
    deleted = rest.search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.run_id for r in deleted] == [run.run_id]
    rest.restore_run(run.run_id)
    assert [r.run_id for r in rest.search_runs([exp.experiment_id])] == [run.run_id]
