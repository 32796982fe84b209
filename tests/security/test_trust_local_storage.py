"""A folder used as artifact storage never serves what was planted in it: a link (to a file
outside or inside), a FIFO, a device or a linked folder leading out is refused unopened, and
a file written onto an existing folder's path is the caller's mistake, not a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelpack._storage import LocalStorage
from modelpack.exceptions import IntegrityError, ModelNotFoundError, StoreError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "run").mkdir(parents=True)
    (r / "run" / "ok.txt").write_text("fine")
    return r


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    s = tmp_path / "secret.txt"
    s.write_text("password")
    return s


def _read_both(storage: LocalStorage, path: str, tmp_path: Path) -> None:
    with pytest.raises(IntegrityError):
        storage.open_read(path)
    with pytest.raises(IntegrityError):
        storage.get_file(path, tmp_path / "out" / "x")
    assert not (tmp_path / "out" / "x").exists()


def test_a_regular_file_reads(root: Path, tmp_path: Path) -> None:
    storage = LocalStorage(str(root))
    with storage.open_read("run/ok.txt") as f:
        assert f.read() == b"fine"
    storage.get_file("run/ok.txt", tmp_path / "copy.txt")
    assert (tmp_path / "copy.txt").read_text() == "fine"


def test_a_link_to_a_file_outside_is_refused(root: Path, secret: Path, tmp_path: Path) -> None:
    (root / "run" / "evil.txt").symlink_to(secret)
    _read_both(LocalStorage(str(root)), "run/evil.txt", tmp_path)


def test_a_link_to_a_file_inside_is_refused_too(root: Path, tmp_path: Path) -> None:
    (root / "run" / "alias.txt").symlink_to(root / "run" / "ok.txt")
    _read_both(LocalStorage(str(root)), "run/alias.txt", tmp_path)


def test_a_linked_folder_leading_out_is_refused(root: Path, secret: Path, tmp_path: Path) -> None:
    (root / "run" / "out").symlink_to(secret.parent)
    _read_both(LocalStorage(str(root)), "run/out/secret.txt", tmp_path)


def test_a_fifo_is_refused_without_hanging(root: Path, tmp_path: Path) -> None:
    os.mkfifo(root / "run" / "pipe")
    _read_both(LocalStorage(str(root)), "run/pipe", tmp_path)


def test_a_root_reached_through_a_link_still_serves(root: Path, tmp_path: Path) -> None:
    (tmp_path / "alias").symlink_to(root)
    with LocalStorage(str(tmp_path / "alias")).open_read("run/ok.txt") as f:
        assert f.read() == b"fine"


def test_missing_and_folder_paths_are_not_found(root: Path) -> None:
    storage = LocalStorage(str(root))
    for path in ("run/nothing.txt", "run", "run/ok.txt/below"):
        with pytest.raises(ModelNotFoundError):
            storage.open_read(path)


def test_a_file_onto_a_folder_is_a_store_error(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    storage = LocalStorage(str(root))
    with pytest.raises(StoreError, match="is a folder in the storage"):
        storage.put_file(source, "run")
    with pytest.raises(StoreError, match="is a folder in the storage"), source.open("rb") as f:
        storage.put_stream(f, "run")
    assert (root / "run" / "ok.txt").read_text() == "fine"
