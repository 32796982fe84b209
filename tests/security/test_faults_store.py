"""A damaged or empty store database is an error naming the file, never a fresh store.

Opening an empty, foreign or damaged ``modelpack.db`` as a new store would restart version
numbers at 1 and hide every earlier run: each case must be one ``StoreError`` (one CLI line)
that names the file and says what to do, and must leave the file as it was.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import modelpack
from modelpack import _store
from modelpack.exceptions import StoreError


@pytest.fixture(autouse=True)
def _default_store() -> Iterator[None]:
    yield
    while modelpack.active_run() is not None:
        modelpack.end_run()
    modelpack.set_store_uri(None)
    _store.close_stores()


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real store with runs and a registered model in it."""
    root = tmp_path_factory.mktemp("good-store")
    modelpack.set_store_uri(str(root))
    try:
        for i in range(40):
            with modelpack.start_run(run_name=f"run-{i}"):
                modelpack.log_param("text", "x" * 1500)
                modelpack.log_metric("m", float(i))
        modelpack.create_registered_model("m")
    finally:
        modelpack.set_store_uri(None)
        _store.close_stores()
    data = (root / "modelpack.db").read_bytes()
    assert len(data) > 16 * 4096  # several pages, so truncation can cut the data
    return data


def _zero(path: Path, good: bytes) -> None:
    path.write_bytes(b"")


def _random(path: Path, good: bytes) -> None:
    path.write_bytes(os.urandom(8192))


def _text(path: Path, good: bytes) -> None:
    path.write_text("runs: []\n")


def _truncated(fraction: float) -> Callable[[Path, bytes], None]:
    def make(path: Path, good: bytes) -> None:
        path.write_bytes(good[: int(len(good) * fraction)])

    return make


def _scrambled_pages(path: Path, good: bytes) -> None:
    """The header survives; every page after the first is noise."""
    path.write_bytes(good[:4096] + os.urandom(len(good) - 4096))


def _directory(path: Path, good: bytes) -> None:
    path.mkdir()


DAMAGE = [
    pytest.param(_zero, "empty (0 bytes)", id="zero-bytes"),
    pytest.param(_random, "not a SQLite database", id="random-bytes"),
    pytest.param(_text, "not a SQLite database", id="a-text-file"),
    pytest.param(_truncated(0.3), "damaged", id="truncated-to-30%"),
    pytest.param(_truncated(0.7), "damaged", id="truncated-to-70%"),
    pytest.param(_scrambled_pages, "damaged", id="scrambled-pages"),
    pytest.param(_directory, "is a directory", id="a-directory"),
]


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


@pytest.mark.parametrize(("make", "says"), DAMAGE)
def test_a_damaged_store_is_an_error_naming_the_file(
    tmp_path: Path, good_db: bytes, make: Callable[[Path, bytes], None], says: str
) -> None:
    db = tmp_path / "modelpack.db"
    make(db, good_db)
    before = _digest(db)
    modelpack.set_store_uri(str(tmp_path))
    with pytest.raises(StoreError) as info:
        modelpack.search_runs(output_format="list")
        with modelpack.start_run():  # a write, in case reading happened to pass
            pass
    message = str(info.value)
    assert str(db) in message and says in message
    assert "\n" not in message and "Traceback" not in message
    assert "backup" in message or "move it away" in message
    assert _digest(db) == before  # left exactly as it was


@pytest.mark.parametrize(("make", "says"), DAMAGE)
def test_the_cli_prints_one_error_line(
    tmp_path: Path, good_db: bytes, make: Callable[[Path, bytes], None], says: str
) -> None:
    make(tmp_path / "modelpack.db", good_db)
    result = subprocess.run(
        [sys.executable, "-m", "modelpack", "runs", "list", "--store", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("modelpack: error: ") and says in lines[0]


def test_an_empty_store_file_never_restarts_version_numbers(tmp_path: Path) -> None:
    modelpack.set_store_uri(str(tmp_path))
    modelpack.create_registered_model("m")
    _store.close_stores()
    (tmp_path / "modelpack.db").write_bytes(b"")  # e.g. a disk-full copy or a bad restore
    with pytest.raises(StoreError, match="empty"):
        modelpack.search_registered_models()
    assert (tmp_path / "modelpack.db").stat().st_size == 0


def test_only_a_missing_file_makes_a_new_store(tmp_path: Path) -> None:
    modelpack.set_store_uri(str(tmp_path / "new"))
    with modelpack.start_run():
        modelpack.log_metric("m", 1.0)
    assert len(modelpack.search_runs(output_format="list")) == 1
    # the new database was built aside and linked in: no temporary file is left
    assert sorted(p.name for p in (tmp_path / "new").iterdir() if ".creating-" in p.name) == []


CREATE = """
import sys, modelpack
modelpack.set_store_uri(sys.argv[1])
with modelpack.start_run():
    modelpack.log_metric("m", 1.0)
"""


def test_processes_creating_one_store_at_once_all_succeed(tmp_path: Path) -> None:
    """The empty file SQLite makes first is never seen by another opener."""
    store = tmp_path / "shared"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE, str(store)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    modelpack.set_store_uri(str(store))
    assert len(modelpack.search_runs(output_format="list")) == 6
