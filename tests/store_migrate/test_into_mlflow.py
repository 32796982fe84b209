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
from modelpack._store import migrate_store
from modelpack._store._migrate import MIGRATED_FROM
from modelpack.exceptions import ModelpackWarning
from tests._services import free_port, wait_for_port
from tests.server.conftest import env_without_store
from tests.store_migrate.conftest import Laptop
from tests.store_rest.conftest import Server, _wait_healthy, start_mlflow_server, stop_server


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for this module's tests (it takes a while to start); they use other names."""
    server = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
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


def _migrate(
    laptop: Laptop, target: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", "store", "migrate", "--from", laptop.uri,
         "--to", target],
        env={**env_without_store(), **(env or {})}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _not_kept(done: subprocess.CompletedProcess[str], server: Server) -> dict[str, str]:
    """The migration's lines about what the server did not keep: what -> the server's reason."""
    prefix = f"not kept by {server.url}: "
    found = {}
    for line in done.stderr.splitlines():
        if line.startswith(prefix):
            what, _, why = line[len(prefix) :].partition(": ")
            found[what] = why
    return found


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
    _migrate_and_check(laptop, mlflow_server, mlflow_client, tmp_path)


def test_migrate_into_an_mlflow_server_with_artifacts_on_s3(
    laptop: Laptop, s3_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server hands out s3:// artifact URIs: the migration writes the files straight to
    S3 (moto's server), and MLflow's client reads them from there."""
    mlflow = pytest.importorskip("mlflow")
    bucket = s3_env.create_bucket()
    server = _start_mlflow_s3(tmp_path / "mlflow-s3", f"s3://{bucket}/mlflow", s3_env.env())
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", server.url)
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_env.endpoint_url)
        client = mlflow.MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        _migrate_and_check(laptop, server, client, tmp_path, env=s3_env.env())
        train = _copies(client)[laptop.runs["train"]]
        assert train.info.artifact_uri.startswith(f"s3://{bucket}/mlflow/")
    finally:
        stop_server(server)


def _start_mlflow_s3(root: Path, artifact_root: str, env: dict[str, str]) -> Server:
    """``mlflow server --no-serve-artifacts`` with runs' artifacts under ``artifact_root``."""
    root.mkdir(parents=True)
    port = free_port()
    cmd = [
        str(Path(sys.executable).with_name("mlflow")), "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--no-serve-artifacts", "--default-artifact-root", artifact_root,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root,
            env={**env_without_store(), **env},
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", root, proc, port)
    try:
        wait_for_port(port, timeout=300, proc=proc)
        _wait_healthy(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def _migrate_and_check(
    laptop: Laptop,
    server: Server,
    client: Any,
    tmp_path: Path,
    env: dict[str, str] | None = None,
) -> None:
    import mlflow.pyfunc

    mlflow_server, mlflow_client = server, client
    first = _migrate(laptop, mlflow_server.url, env)
    assert "6 runs copied" in first.stderr and "3 model versions copied" in first.stderr
    # the one thing of the laptop's that MLflow's server does not hold: "rmse" 0.25 at step 2
    # was logged twice with the same timestamp, and the server keeps one of them
    assert _not_kept(first, mlflow_server) == {
        "1 repeated metric values (kept once)": "it keeps one copy of a value logged more than "
        "once with the same step and timestamp"
    }
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
    again = _migrate(laptop, mlflow_server.url, env)
    assert "0 runs copied (6 already there)" in again.stderr, again.stderr
    assert "0 model versions copied (3 already there)" in again.stderr, again.stderr
    assert _counts(mlflow_client) == before
    holders = [k for k in _copies(mlflow_client) if k.endswith("::models:/from-path/1")]
    assert len(holders) == 1  # the run holding the files of the version registered from a path


def _edge_store(uri: str) -> str:
    """A store holding what modelpack accepts and MLflow's server does not; the run's id."""
    from sklearn.linear_model import LinearRegression

    from modelpack._store import get_store

    X = np.arange(20, dtype=float).reshape(10, 2)
    model = LinearRegression().fit(X, X @ [1.0, 2.0])
    store = get_store(uri)
    modelpack.set_store_uri(uri)
    try:
        exp = store.create_experiment("limits")
        with modelpack.start_run(experiment_id=exp, run_name="limits") as run:
            modelpack.log_params({"ok": "1", "k" * 300: "long key", "big": "x" * 9000})
            modelpack.log_metric("inf", float("inf"))
            for step in range(3):
                modelpack.log_metric("loss", 1.0 / (step + 1), step=step)
            modelpack.log_model(model, "model", registered_model_name="limits-ok")
        modelpack.register_model(f"runs:/{run.info.run_id}/model", "limits:colon")
        with modelpack.start_run(experiment_id=store.create_experiment("e" * 600)):
            modelpack.log_metric("m", 1.0)
    finally:
        modelpack.set_store_uri(None)
    return run.info.run_id


def test_what_mlflow_refuses_is_reported_once_per_kind_and_skipped(
    mlflow_server: Server, mlflow_client: Any, tmp_path: Path
) -> None:
    source = str(tmp_path / "limits")
    run_id = _edge_store(source)
    laptop = Laptop(source, None, np.zeros(0), {})  # type: ignore[arg-type]
    done = _migrate(laptop, mlflow_server.url)
    not_kept = _not_kept(done, mlflow_server)
    assert set(not_kept) == {
        "1 experiments (refused)",
        "1 runs (in a refused experiment)",
        "1 params (refused)",
        "1 params (changed)",
        "1 metric values (changed)",
        "1 registered models (refused, with their versions)",
    }, done.stderr
    assert "exceeds the maximum length of 500" in not_kept["1 experiments (refused)"]
    assert "'Param key' exceeds the maximum length of 250" in not_kept["1 params (refused)"]
    assert not_kept["1 params (changed)"] == "'big': 9000 characters, 6000 kept"
    assert (
        "Names cannot contain '/' or ':'"
        in not_kept["1 registered models (refused, with their versions)"]
    )
    assert "1 runs copied" in done.stderr and "1 model versions copied" in done.stderr
    [copy] = [r for k, r in _copies(mlflow_client).items() if k == run_id]
    assert copy.data.params == {"ok": "1", "big": "x" * 6000}
    history = mlflow_client.get_metric_history(copy.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    [version] = mlflow_client.search_model_versions("name = 'limits-ok'")
    assert version.run_id == copy.info.run_id
    again = _migrate(laptop, mlflow_server.url)
    assert "0 runs copied (1 already there)" in again.stderr, again.stderr
    assert "0 model versions copied (1 already there)" in again.stderr, again.stderr
    # from Python: the same lines, in the summary and as warnings; the refused experiment and
    # model are tried again, the complete run is not looked at again
    with pytest.warns(ModelpackWarning, match="not kept by") as caught:
        summary = migrate_store(source, mlflow_server.url, progress=False)
    again_kinds = [
        "1 experiments (refused)",
        "1 registered models (refused, with their versions)",
        "1 runs (in a refused experiment)",
    ]
    prefix = f"not kept by {mlflow_server.url}: "
    assert summary.refused == [f"{prefix}{kind}: {not_kept[kind]}" for kind in again_kinds]
    assert sorted(str(w.message) for w in caught) == sorted(summary.refused)
