"""``modelpack store migrate`` when things go wrong: an unreachable or read-only target, a
missing source, and a real Ctrl-C (SIGINT) in the middle, then resumed. Every failure is one
line on standard error naming what to fix, with a non-zero exit code and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import modelpack
from modelpack._store import close_stores, get_store, migrate_store
from modelpack._store._migrate import MIGRATED_FROM
from tests.server.conftest import Running, env_without_store, free_port
from tests.store_migrate._snapshot import snapshot
from tests.store_migrate.conftest import Laptop


def _cli(
    source: str, target: str, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", "store", "migrate", "--from", source, "--to", target],
        env={**env_without_store(), "MODELPACK_HTTP_BACKOFF": "0.05", **(env or {})},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("modelpack: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_an_unreachable_target_is_one_line_naming_it(laptop: Laptop) -> None:
    close_stores()
    target = f"http://127.0.0.1:{free_port()}"
    line = _one_error_line(_cli(laptop.uri, target))
    assert target in line and "cannot reach" in line, line


@pytest.mark.parametrize("form", ["path", "sqlite"])
def test_a_missing_source_is_refused_and_not_created(form: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-store"
    source = str(missing) if form == "path" else f"sqlite:///{missing / 'modelpack.db'}"
    line = _one_error_line(_cli(source, str(tmp_path / "team")))
    assert "does not exist" in line and str(missing) in line, line
    assert not missing.exists()
    assert not (tmp_path / "team").exists()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text("write-secret\nro:read-secret\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("token,status", [("read-secret", "403"), ("wrong", "401"), (None, "401")])
def test_a_read_only_or_wrong_token_is_one_line(
    token: str | None,
    status: str,
    laptop: Laptop,
    start_server: Callable[..., Running],
    token_file: Path,
    tmp_path: Path,
) -> None:
    close_stores()
    running = start_server(store=tmp_path / "team", token_file=token_file)
    env = {"MODELPACK_TRACKING_TOKEN": token} if token else {}
    line = _one_error_line(_cli(laptop.uri, running.url, env=env))
    assert status in line and running.url in line and "migration stopped" in line, line
    assert "MODELPACK_TRACKING_TOKEN" in line, line
    # with a write token the same migration goes through
    done = _cli(laptop.uri, running.url, env={"MODELPACK_TRACKING_TOKEN": "write-secret"})
    assert done.returncode == 0, done.stderr


def _bulk(laptop: Laptop, count: int) -> None:
    """``count`` more small runs, so that a migration takes long enough to interrupt."""
    exp = laptop.store.create_experiment("bulk")
    modelpack.set_store_uri(laptop.uri)
    try:
        for i in range(count):
            with modelpack.start_run(experiment_id=exp, run_name=f"bulk-{i}"):
                modelpack.log_params({"i": str(i)})
                modelpack.log_metrics({"loss": 1.0 / (i + 1)}, step=i)
    finally:
        modelpack.set_store_uri(None)


def _copied_runs(url: str) -> int:
    store = get_store(url)
    found = store.search_runs([e.experiment_id for e in store.list_experiments()], max_results=1000)
    return sum(MIGRATED_FROM in r.data.tags for r in found)


def test_ctrl_c_midway_then_resume(
    laptop: Laptop, start_server: Callable[..., Running], tmp_path: Path
) -> None:
    _bulk(laptop, 80)
    close_stores()
    running = start_server(store=tmp_path / "team", artifacts=tmp_path / "team-artifacts")
    cmd = [sys.executable, "-m", "modelpack", "store", "migrate", "--from", laptop.uri,
           "--to", running.url]  # fmt: skip
    log = tmp_path / "migrate.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, env=env_without_store(), stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 300
        while _copied_runs(running.url) < 3 and proc.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert proc.poll() is None, "finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 130, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "modelpack: interrupted" in text and "Traceback" not in text, text
    total = len(laptop.runs) + 80
    assert 3 <= _copied_runs(running.url) < total
    done = _cli(laptop.uri, running.url)
    assert done.returncode == 0, done.stderr
    close_stores()
    summary = migrate_store(laptop.uri, running.url, progress=False)
    assert (summary.runs_copied, summary.runs_skipped) == (0, total)
    want, got = snapshot(laptop.store), snapshot(get_store(running.url))
    assert got["runs"] == want["runs"]
    assert got["registry"] == want["registry"]
