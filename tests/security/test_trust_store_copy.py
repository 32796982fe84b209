"""Copies into the store never follow links (issue 13, item 3): registering a model directory
from elsewhere or logging one as a run's artifacts refuses a symbolic link, a FIFO or a device
in it with an IntegrityError naming the file, as ``pack`` does, and leaves no copy of what a
link points at (a secret outside the model, ``/etc/passwd``) anywhere in the store."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import modelpack
from modelpack._safe_copy import copy_model_tree
from modelpack._store import get_store
from modelpack.exceptions import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SECRET = b"STORE-SECRET-TOKEN-93be"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "credentials"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def _passwd(model: Path, secret: Path) -> str:
    (model / "notes.txt").symlink_to("/etc/passwd")
    return "notes.txt"


def _outside(model: Path, secret: Path) -> str:
    (model / "extra").mkdir()
    (model / "extra" / "weights.bin").symlink_to(secret)
    return "extra/weights.bin"


def _folder(model: Path, secret: Path) -> str:
    (model / "data").symlink_to(secret.parent, target_is_directory=True)
    return "data"


def _fifo(model: Path, secret: Path) -> str:
    os.mkfifo(model / "pipe")
    return "pipe"


CASES: dict[str, Callable[[Path, Path], str]] = {
    "link-to-etc-passwd": _passwd,
    "link-to-a-file-outside": _outside,
    "link-to-a-folder-outside": _folder,
    "fifo": _fifo,
}


def _leaked(root: Path) -> list[Path]:
    """Regular files under ``root`` holding the secret or /etc/passwd's first line."""
    passwd = Path("/etc/passwd").read_bytes().splitlines()[0]
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if SECRET in data or passwd in data:
                found.append(path)
    return found


@pytest.mark.timeout(120)  # a FIFO opened for reading would block: it must not be opened
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_register_refuses_and_copies_nothing(
    taxi_model_dir: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(taxi_model_dir, secret)
    with pytest.raises(IntegrityError, match=f"refusing to register .*{name}") as caught:
        modelpack.register_model(str(taxi_model_dir), "m")
    assert caught.value.path == str(taxi_model_dir / name)
    store = get_store()
    assert _leaked(store.artifact_root) == []
    assert list((store.artifact_root / "registered").iterdir()) == []  # no half copy left
    assert store.search_model_versions("name = 'm'") == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_logging_a_model_directory_refuses_and_copies_nothing(
    taxi_model_dir: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(taxi_model_dir, secret)
    with modelpack.start_run() as run, pytest.raises(IntegrityError, match=name):
        modelpack.log_artifacts(str(taxi_model_dir), "model")
    root = Path(modelpack.get_run(run.info.run_id).info.artifact_uri)
    assert _leaked(root) == []
    assert not (root / "model" / "MLmodel").exists()


def test_a_link_inside_the_model_is_refused_too(taxi_model_dir: Path) -> None:
    # even a link to one of the model's own files: the store holds regular files only
    (taxi_model_dir / "again.yaml").symlink_to("MLmodel")
    with pytest.raises(
        IntegrityError, match=r"again\.yaml is a symbolic link to MLmodel \(in it\)"
    ):
        modelpack.register_model(str(taxi_model_dir), "m")


def test_a_clean_model_registers_and_loads(taxi_model_dir: Path, taxi: object) -> None:
    version = modelpack.register_model(str(taxi_model_dir), "m")
    assert version.version == 1
    assert modelpack.load_model("models:/m/1") is not None


def test_copy_model_tree_checks_everything_before_copying(tmp_path: Path, secret: Path) -> None:
    source = tmp_path / "src"
    (source / "a").mkdir(parents=True)
    (source / "a" / "first.txt").write_text("kept only if all pass")
    (source / "z").symlink_to(secret)
    with pytest.raises(IntegrityError, match="z is a symbolic link"):
        copy_model_tree(source, tmp_path / "dest", action="copy")
    assert not (tmp_path / "dest").exists()
    (source / "z").unlink()
    (source / ".x.saving-1").mkdir()
    copy_model_tree(source, tmp_path / "dest", skip=(".*.saving-*",))
    assert sorted(
        p.relative_to(tmp_path / "dest").as_posix() for p in (tmp_path / "dest").rglob("*")
    ) == [
        "a",
        "a/first.txt",
    ]
    (tmp_path / "dest" / "a" / "first.txt").write_text("old")
    copy_model_tree(source, tmp_path / "dest", merge=True)
    assert (tmp_path / "dest" / "a" / "first.txt").read_text() == "kept only if all pass"
