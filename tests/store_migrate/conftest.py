"""A laptop store with a bit of everything, to migrate; real ``modelpack server`` targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._store import Metric, Store, close_stores, get_store
from tests.server.conftest import start_server  # noqa: F401 - the fixture, for these tests


@dataclass
class Laptop:
    uri: str
    store: Store
    X: np.ndarray
    #: what each source run is: name -> run id
    runs: dict[str, str]


def _model() -> tuple[Any, np.ndarray]:
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    return LinearRegression().fit(X, X @ [1.0, 2.0] + 0.5), X


@pytest.fixture
def laptop(tmp_path: Path) -> Laptop:
    """Two experiments (one deleted), five runs (a child, a failed and a deleted one), metric
    histories, artifacts, logged models and a registry with aliases, stages, tags, descriptions
    and a version registered from a path outside any run."""
    uri = str(tmp_path / "laptop")
    modelpack.set_store_uri(uri)
    try:
        return _fill(uri, tmp_path)
    finally:
        modelpack.set_store_uri(None)


def _fill(uri: str, tmp_path: Path) -> Laptop:
    store = get_store(uri)
    model, X = _model()
    runs: dict[str, str] = {}
    notes = tmp_path / "notes"
    (notes / "deep").mkdir(parents=True)
    (notes / "readme.md").write_text("hello")
    (notes / "deep" / "data.bin").write_bytes(bytes(range(256)) * 10)
    exp = store.create_experiment("taxi", tags={"team": "rides"})
    with modelpack.start_run(experiment_id=exp, run_name="train") as run:
        runs["train"] = run.info.run_id
        modelpack.log_params({"alpha": "0.5", "fit_intercept": "true"})
        for step, value in enumerate([0.9, 0.5, 0.25]):
            store.log_batch(run.info.run_id, metrics=[Metric("rmse", value, 1_000 + step, step)])
        store.log_batch(run.info.run_id, metrics=[Metric("rmse", 0.25, 1_002, 2)])  # a repeat
        modelpack.set_tag("owner", "ana")
        store.log_artifacts(run.info.run_id, notes, "notes")
        modelpack.log_model(model, "model", registered_model_name="taxi-model")
        with modelpack.start_run(run_name="child", nested=True) as child:
            runs["child"] = child.info.run_id
            modelpack.log_metric("mae", 1.5)
    with modelpack.start_run(experiment_id=exp, run_name="second") as run:
        runs["second"] = run.info.run_id
        modelpack.log_model(model, "model", registered_model_name="taxi-model")
    with pytest.raises(RuntimeError), modelpack.start_run(experiment_id=exp, run_name="failed"):
        runs["failed"] = modelpack.active_run().info.run_id
        raise RuntimeError("boom")
    with modelpack.start_run(experiment_id=exp, run_name="dropped") as run:
        runs["dropped"] = run.info.run_id
    store.delete_run(runs["dropped"])
    old = store.create_experiment("old")
    with modelpack.start_run(experiment_id=old, run_name="ancient") as run:
        runs["ancient"] = run.info.run_id
    store.delete_experiment(old)
    path = tmp_path / "outside-model"
    modelpack.save_model(model, path)
    modelpack.register_model(str(path), "from-path", description="saved by hand")
    client = modelpack.MlflowClient()
    client.update_registered_model("taxi-model", description="duration")
    client.set_registered_model_tag("taxi-model", "task", "regression")
    client.set_registered_model_alias("taxi-model", "champion", 2)
    client.transition_model_version_stage("taxi-model", 1, "Production")
    client.set_model_version_tag("taxi-model", 1, "checked", "yes")
    client.update_model_version("taxi-model", 1, description="first")
    return Laptop(uri, store, X, runs)


@pytest.fixture(autouse=True)
def _forget_stores() -> Any:
    yield
    close_stores()
