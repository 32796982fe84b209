"""``modelpack store migrate`` into a real ``mlflow server``, checked with MLflow's own client.

The laptop store (``conftest.laptop``) is migrated by the CLI in a subprocess; then
``mlflow.MlflowClient`` against the server must find every experiment, run, metric value, tag,
artifact and registered version, and ``mlflow.pyfunc`` must load ``models:/<name>@<alias>`` and
predict what modelpack predicts from the laptop. A second migration copies nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._store import ViewType
from modelpack._store._migrate import MIGRATED_FROM
from tests.server.conftest import env_without_store
from tests.store_migrate.conftest import Laptop
from tests.store_rest.conftest import Server, start_mlflow_server, stop_server


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[Server]:
    server = start_mlflow_server(tmp_path / "mlflow")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def mlflow_client(mlflow_server: Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow's client, and MLflow's module-level functions, pointed at the server."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", mlflow_server.url)
    return mlflow.MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)


def _migrate(laptop: Laptop, target: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", "store", "migrate", "--from", laptop.uri,
         "--to", target],
        env=env_without_store(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _source_runs(laptop: Laptop) -> dict[str, Any]:
    return {name: laptop.store.get_run(run_id) for name, run_id in laptop.runs.items()}


def _copies(client: Any) -> dict[str, Any]:
    """The server's runs made by the migration, by their source run id."""
    from mlflow.entities import ViewType as MlflowView

    experiments = client.search_experiments(view_type=MlflowView.ALL)
    runs = client.search_runs(
        [e.experiment_id for e in experiments], run_view_type=MlflowView.ALL, max_results=1000
    )
    return {r.data.tags[MIGRATED_FROM]: r for r in runs if MIGRATED_FROM in r.data.tags}


def _check_experiments(client: Any) -> None:
    taxi = client.get_experiment_by_name("taxi")
    assert taxi.tags["team"] == "rides"
    assert taxi.lifecycle_stage == "active"
    assert client.get_experiment_by_name("old").lifecycle_stage == "deleted"


def _check_runs(laptop: Laptop, client: Any, copies: dict[str, Any]) -> None:
    assert set(copies) >= set(laptop.runs.values())
    for name, src in _source_runs(laptop).items():
        copy = copies[src.info.run_id]
        info = copy.info
        assert info.run_name == name
        assert (info.status, info.start_time, info.end_time) == (
            src.info.status,
            src.info.start_time,
            src.info.end_time,
        ), name
        assert info.lifecycle_stage == src.info.lifecycle_stage, name
        assert copy.data.params == src.data.params, name
        assert copy.data.metrics == src.data.metrics, name
        for key in src.data.metrics:
            want = sorted(
                {(m.value, m.step, m.timestamp) for m in laptop.store.get_metric_history(
                    src.info.run_id, key)}
            )  # fmt: skip
            got = [
                (m.value, m.step, m.timestamp) for m in client.get_metric_history(info.run_id, key)
            ]
            # MLflow's server keeps one copy of a value logged twice at the same step and time
            assert sorted(got) == want, (name, key)
        for key, value in src.data.tags.items():
            if key not in ("mlflow.parentRunId", "mlflow.log-model.history"):
                assert copy.data.tags.get(key) == value, (name, key)
    train = copies[laptop.runs["train"]]
    child = copies[laptop.runs["child"]]
    assert child.data.tags["mlflow.parentRunId"] == train.info.run_id
    assert copies[laptop.runs["failed"]].info.status == "FAILED"
    assert copies[laptop.runs["dropped"]].info.lifecycle_stage == "deleted"


def _check_artifacts(laptop: Laptop, client: Any, copies: dict[str, Any], tmp: Path) -> None:
    train = copies[laptop.runs["train"]].info.run_id
    got = Path(client.download_artifacts(train, "notes", str(tmp)))
    assert (got / "readme.md").read_text() == "hello"
    assert (got / "deep" / "data.bin").read_bytes() == bytes(range(256)) * 10
    names = {a.path for a in client.list_artifacts(train, "model")}
    assert "model/MLmodel" in names
    history = copies[laptop.runs["train"]].data.tags["mlflow.log-model.history"]
    assert '"artifact_path": "model"' in history


def _check_registry(laptop: Laptop, client: Any, copies: dict[str, Any]) -> None:
    model = client.get_registered_model("taxi-model")
    assert model.description == "duration"
    assert model.tags == {"task": "regression"}
    assert model.aliases == {"champion": "2"}
    versions = {int(v.version): v for v in client.search_model_versions("name = 'taxi-model'")}
    assert sorted(versions) == [1, 2]
    one, two = versions[1], versions[2]
    assert (one.current_stage, one.description) == ("Production", "first")
    assert one.tags["checked"] == "yes"
    assert one.run_id == copies[laptop.runs["train"]].info.run_id
    assert two.run_id == copies[laptop.runs["second"]].info.run_id
    assert two.current_stage == "None"
    [from_path] = client.search_model_versions("name = 'from-path'")
    assert from_path.description == "saved by hand"
    assert client.get_registered_model("from-path").name == "from-path"


def _modelpack_predicts(laptop: Laptop, uri: str) -> np.ndarray:
    modelpack.set_store_uri(laptop.uri)
    try:
        return np.asarray(modelpack.load_model(uri).predict(laptop.X))
    finally:
        modelpack.set_store_uri(None)


def _counts(client: Any) -> tuple[int, int, dict[str, int]]:
    copies = _copies(client)
    versions = len(client.search_model_versions("name = 'taxi-model'")) + len(
        client.search_model_versions("name = 'from-path'")
    )
    metrics = {
        f"{r.info.run_id}/{k}": len(client.get_metric_history(r.info.run_id, k))
        for r in copies.values()
        for k in r.data.metrics
    }
    return len(copies), versions, metrics


def test_migrate_into_a_real_mlflow_server(
    laptop: Laptop, mlflow_server: Server, mlflow_client: Any, tmp_path: Path
) -> None:
    import mlflow.pyfunc

    first = _migrate(laptop, mlflow_server.url)
    assert "6 runs copied" in first.stderr and "3 model versions copied" in first.stderr
    copies = _copies(mlflow_client)
    _check_experiments(mlflow_client)
    _check_runs(laptop, mlflow_client, copies)
    _check_artifacts(laptop, mlflow_client, copies, tmp_path / "downloads")
    _check_registry(laptop, mlflow_client, copies)
    want = _modelpack_predicts(laptop, "models:/taxi-model@champion")
    for uri in ("models:/taxi-model@champion", "models:/taxi-model/Production",
                "models:/from-path/1"):  # fmt: skip
        got = np.asarray(mlflow.pyfunc.load_model(uri).predict(laptop.X))
        assert np.allclose(got, want), uri

    before = _counts(mlflow_client)
    again = _migrate(laptop, mlflow_server.url)
    assert "0 runs copied (6 already there)" in again.stderr, again.stderr
    assert "0 model versions copied (3 already there)" in again.stderr, again.stderr
    assert _counts(mlflow_client) == before
    assert before[0] == len(laptop.runs) + 1  # and the run holding from-path's files


def test_the_laptop_runs_are_all_there(laptop: Laptop) -> None:
    """The fixture this module relies on has the runs the checks above name."""
    runs = laptop.store.search_runs(
        [e.experiment_id for e in laptop.store.list_experiments()], run_view_type=ViewType.ALL
    )
    assert {r.info.run_name for r in runs} == set(laptop.runs)
