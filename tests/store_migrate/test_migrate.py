"""``modelpack store migrate``: SQLite -> SQLite and SQLite -> a real modelpack server,
repeated and interrupted migrations, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._store import Store, close_stores, get_store, migrate_store
from modelpack._store._migrate import MIGRATED_FROM
from tests.server.conftest import Running, env_without_store
from tests.store_migrate._snapshot import snapshot
from tests.store_migrate.conftest import Laptop


def _target(
    kind: str, tmp_path: Path, start_server: Callable[..., Running], request: Any = None
) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'team' / 'team.db'}"
    if kind == "postgres":
        url = request.getfixturevalue("pg_url")
        return f"{url}?artifact_root={tmp_path / 'pg-artifacts'}"
    return start_server(store=tmp_path / "team", artifacts=tmp_path / "team-artifacts").url


def _predicts(uri: str, store_uri: str, X: np.ndarray) -> np.ndarray:
    modelpack.set_store_uri(store_uri)
    try:
        return np.asarray(modelpack.load_model(uri).predict(X))
    finally:
        modelpack.set_store_uri(None)


def _same_as_source(laptop: Laptop, target: Store) -> None:
    want, got = snapshot(laptop.store), snapshot(target)
    assert got["experiments"].keys() >= want["experiments"].keys()
    for name, value in want["experiments"].items():
        assert got["experiments"][name] == value, name
    assert got["runs"] == want["runs"]
    assert got["registry"] == want["registry"]


@pytest.mark.parametrize("kind", ["sqlite", "server", "postgres"])
def test_everything_is_copied_and_loads(
    kind: str,
    laptop: Laptop,
    tmp_path: Path,
    start_server: Callable[..., Running],
    request: pytest.FixtureRequest,
) -> None:
    target_uri = _target(kind, tmp_path, start_server, request)
    summary = migrate_store(laptop.uri, target_uri, progress=False)
    assert (summary.runs_copied, summary.runs_skipped) == (len(laptop.runs), 0)
    assert (summary.versions_copied, summary.versions_skipped) == (3, 0)
    target = get_store(target_uri)
    _same_as_source(laptop, target)
    want = _predicts("models:/taxi-model@champion", laptop.uri, laptop.X)
    for uri in ("models:/taxi-model@champion", "models:/taxi-model/Production",
                "models:/from-path/1"):  # fmt: skip
        assert np.allclose(_predicts(uri, target_uri, laptop.X), want), uri
    # the copied version points at the copied run's files, not at the laptop's
    version = target.get_model_version("taxi-model", 2)
    assert version.run_id != laptop.runs["second"]
    assert target.get_run(version.run_id or "").data.tags[MIGRATED_FROM] == laptop.runs["second"]
    assert str(Path(laptop.uri).resolve()) not in version.storage_location


def test_a_second_migration_copies_nothing(laptop: Laptop, tmp_path: Path) -> None:
    target_uri = str(tmp_path / "team")
    migrate_store(laptop.uri, target_uri, progress=False)
    before = snapshot(get_store(target_uri), holders=True)
    again = migrate_store(laptop.uri, target_uri, progress=False)
    assert (again.runs_copied, again.versions_copied) == (0, 0)
    assert (again.runs_skipped, again.versions_skipped) == (len(laptop.runs), 3)
    assert snapshot(get_store(target_uri), holders=True) == before


class _Interrupt(BaseException):
    """Stands for Ctrl-C or a killed process: nothing catches it."""


def _interrupt_after(
    monkeypatch: pytest.MonkeyPatch, store: Store, method: str, calls: int
) -> None:
    """Make ``store.method`` fail on its ``calls``-th call (and every call after it)."""
    original = getattr(store, method)
    count = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        count["n"] += 1
        if count["n"] >= calls:
            raise _Interrupt(method)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, method, failing)


@pytest.mark.parametrize(
    "method,calls",
    [
        pytest.param("log_batch", 3, id="mid-run-metrics"),
        pytest.param("log_artifacts", 1, id="mid-artifacts"),
        pytest.param("record_logged_model", 2, id="mid-models"),
        pytest.param("set_alias", 1, id="mid-registry"),
    ],
)
def test_an_interrupted_migration_resumes_without_duplicates(
    method: str,
    calls: int,
    laptop: Laptop,
    tmp_path: Path,
    start_server: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target_uri = _target("server", tmp_path, start_server)
    target = get_store(target_uri)
    with monkeypatch.context() as patch:
        _interrupt_after(patch, target, method, calls)
        with pytest.raises(_Interrupt):
            migrate_store(laptop.uri, target_uri, progress=False)
    summary = migrate_store(laptop.uri, target_uri, progress=False)
    assert summary.runs_copied + summary.runs_skipped == len(laptop.runs)
    _same_as_source(laptop, get_store(target_uri))
    assert len(snapshot(get_store(target_uri), holders=True)["runs"]) == len(laptop.runs) + 1


def test_cli_migrates_with_a_progress_summary(laptop: Laptop, tmp_path: Path) -> None:
    close_stores()
    target = tmp_path / "cli-team"
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", "store", "migrate", "--from", laptop.uri,
         "--to", str(target)],
        env=env_without_store(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 runs copied" in done.stderr and "3 model versions copied" in done.stderr
    _same_as_source(laptop, get_store(str(target)))


def test_migrating_a_store_into_itself_is_refused(laptop: Laptop) -> None:
    with pytest.raises(modelpack.exceptions.StoreError, match="into itself"):
        migrate_store(laptop.uri, f"sqlite:///{Path(laptop.uri) / 'modelpack.db'}")


def test_a_server_migrates_back_down(
    laptop: Laptop, tmp_path: Path, start_server: Callable[..., Running]
) -> None:
    server_uri = _target("server", tmp_path, start_server)
    migrate_store(laptop.uri, server_uri, progress=False)
    down = str(tmp_path / "down")
    summary = migrate_store(server_uri, down, progress=False)
    assert summary.runs_copied == len(laptop.runs) + 1  # the holder run is a run there
    want, got = snapshot(laptop.store), snapshot(get_store(down))
    # on the server, the run holding the version registered from a path is an ordinary run
    holder = ("Default", "from-path v1 (migrated)")
    assert {k: v for k, v in got["runs"].items() if k != holder} == want["runs"]
    assert got["registry"]["taxi-model"] == want["registry"]["taxi-model"]
    assert got["registry"]["from-path"]["versions"][0][:4] == (1, "None", "saved by hand", {})
    for uri in ("models:/taxi-model@champion", "models:/from-path/1"):
        want_pred = _predicts(uri, laptop.uri, laptop.X)
        assert np.allclose(_predicts(uri, down, laptop.X), want_pred), uri
