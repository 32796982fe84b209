"""modelpack clients against ``modelpack server`` processes: concurrency and killed uploads.

(The workflow tests in ``test_runs`` and ``test_models`` run against a modelpack server too:
the ``server`` fixture starts each kind.)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelpack
from modelpack._store import close_stores, get_store
from modelpack.exceptions import ModelNotFoundError
from tests.store_rest.conftest import Server, start_modelpack_server, stop_server


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two server processes on one store and one artifacts folder."""
    store, artifacts = str(tmp_path / "store"), str(tmp_path / "artifacts")
    first = start_modelpack_server(tmp_path / "one", store=store, artifacts=artifacts)
    try:
        second = start_modelpack_server(tmp_path / "two", store=store, artifacts=artifacts)
    except BaseException:
        stop_server(first)
        raise
    yield first, second
    for server in (first, second):
        stop_server(server)
        assert "Traceback" not in server.log(), server.log()


def _logged_model(url: str) -> str:
    """Log a tiny model through the server at ``url``; its runs:/ URI."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    X = np.arange(10, dtype=float).reshape(5, 2)
    modelpack.set_store_uri(url)
    try:
        with modelpack.start_run():
            info = modelpack.log_model(LinearRegression().fit(X, X @ [1.0, 1.0]), "model")
    finally:
        modelpack.set_store_uri(None)
    return str(info.model_uri)


def _register(url: str, model_uri: str, count: int) -> list[int]:
    modelpack.set_store_uri(url)
    return [modelpack.register_model(model_uri, "shared").version for _ in range(count)]


def _move_alias(url: str, version: int, times: int) -> None:
    modelpack.set_store_uri(url)
    for _ in range(times):
        modelpack.set_alias("shared", "champion", version)


def test_eight_clients_register_eighty_versions_through_two_servers(
    two_servers: tuple[Server, Server],
) -> None:
    first, second = two_servers
    model_uri = _logged_model(first.url)
    urls = [first.url, second.url] * 4
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.starmap(_register, [(url, model_uri, 10) for url in urls])
        assert sorted(v for got in results for v in got) == list(range(1, 81))
        # two clients moving one alias at once leave it on one of their two versions
        pool.starmap(_move_alias, [(first.url, 3, 20), (second.url, 7, 20)])
    store = get_store(second.url)
    try:
        found = store.search_model_versions("name = 'shared'", max_results=1000)
        assert sorted(v.version for v in found) == list(range(1, 81))
        assert store.get_registered_model("shared").aliases["champion"] in (3, 7)
    finally:
        close_stores()


_KILLED_CLIENT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from sklearn.linear_model import LinearRegression
    import modelpack
    from modelpack._store import _rest_artifacts

    url, ready = sys.argv[1], sys.argv[2]
    put = _rest_artifacts.ProxyStorage._put
    sent = []

    def slow_put(self, body, dest_path, size):
        put(self, body, dest_path, size)
        sent.append(dest_path)
        if len(sent) == 2:  # part of the model is up: stop here until killed
            with open(ready, "w") as f:
                f.write(modelpack.active_run().info.run_id)
            time.sleep(600)

    _rest_artifacts.ProxyStorage._put = slow_put
    modelpack.set_store_uri(url)
    X = np.arange(10, dtype=float).reshape(5, 2)
    with modelpack.start_run():
        modelpack.log_model(
            LinearRegression().fit(X, X @ [1.0, 1.0]), "model",
            input_example=X[:2], registered_model_name="half",
        )
    """
)


def test_a_client_killed_mid_upload_leaves_no_model_and_no_version(
    two_servers: tuple[Server, Server], tmp_path: Path
) -> None:
    server = two_servers[0]
    ready = tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPACK_STORE", "MLFLOW_"))}
    with open(tmp_path / "client.log", "wb") as log:
        client = subprocess.Popen(
            [sys.executable, "-c", _KILLED_CLIENT, server.url, str(ready)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (ready.exists() and ready.read_text()) and client.poll() is None:
            assert time.monotonic() < deadline, (tmp_path / "client.log").read_text()
            time.sleep(0.1)
        assert client.poll() is None, (tmp_path / "client.log").read_text()
        run_id = ready.read_text()
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait(30)
    store = get_store(server.url)
    try:
        uploaded = [f.path for f in store.list_artifacts(run_id, "model")]
        assert uploaded and "model/MLmodel" not in uploaded  # some files, never the manifest
        assert store.list_logged_models(run_id) == []
        with pytest.raises(ModelNotFoundError):
            store.get_registered_model("half")
        modelpack.set_store_uri(server.url)
        with pytest.raises(ModelNotFoundError):
            modelpack.load_model(f"runs:/{run_id}/model")
    finally:
        modelpack.set_store_uri(None)
        close_stores()
