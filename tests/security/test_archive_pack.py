"""``pack`` and ``build-docker`` never copy what a symbolic link points at, nor special files.

A model directory with a link (to a secret outside it, or to one of its own files), a FIFO or
a device is refused with an IntegrityError naming the file, before any wheel is resolved, and
nothing is left: no archive, no staging folder, no copy of the link's target anywhere.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.exceptions import IntegrityError
from modelpack.pack._bundle import PackOptions, copy_model, pack
from modelpack.pack._docker import DockerOptions, build_context

SECRET = b"TOP-SECRET-TOKEN-4f1c"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import modelpack

    path = tmp_path_factory.mktemp("pack-links") / "model"
    x = np.arange(6.0).reshape(3, 2)
    modelpack.save_model(LinearRegression().fit(x, [1.0, 2.0, 3.0]), path)
    return path


@pytest.fixture
def model(tmp_path: Path, saved_model: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(saved_model, copy)
    return copy


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "credentials"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def _link_outside(model: Path, secret: Path) -> str:
    (model / "notes.txt").symlink_to(secret)
    return "notes.txt"


def _link_in_subfolder(model: Path, secret: Path) -> str:
    (model / "code").mkdir()
    (model / "code" / "helpers.py").symlink_to(secret)
    return "code/helpers.py"


def _link_to_folder(model: Path, secret: Path) -> str:
    (model / "data").symlink_to(secret.parent, target_is_directory=True)
    return "data"


def _link_inside(model: Path, secret: Path) -> str:
    (model / "again.yaml").symlink_to("MLmodel")
    return "again.yaml"


def _fifo(model: Path, secret: Path) -> str:
    os.mkfifo(model / "pipe")
    return "pipe"


def _device(model: Path, secret: Path) -> str:
    try:
        os.mknod(model / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs privileges")
    return "null"


CASES: dict[str, Callable[[Path, Path], str]] = {
    "symlink-outside": _link_outside,
    "symlink-in-subfolder": _link_in_subfolder,
    "symlink-to-folder": _link_to_folder,
    "symlink-inside": _link_inside,
    "fifo": _fifo,
    "device": _device,
}


def _no_secret_under(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET not in path.read_bytes(), path


@pytest.mark.timeout(120)  # a FIFO opened for reading would block: it must not be opened
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_pack_refuses_and_leaves_nothing(
    tmp_path: Path, model: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(model, secret)
    dist = tmp_path / "dist"
    with pytest.raises(IntegrityError, match=name):
        pack(model, dist / "m.tar.gz", PackOptions(env="wheelhouse"))
    assert not (dist / "m.tar.gz").exists()
    assert list(dist.iterdir()) == []  # no staging folder left
    _no_secret_under(dist)


@pytest.mark.parametrize("make", [_link_outside, _link_to_folder], ids=["file", "folder"])
def test_copy_model_names_a_link_outside(
    tmp_path: Path, model: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(model, secret)
    with pytest.raises(IntegrityError, match="outside the model directory") as caught:
        copy_model(model, tmp_path / "copy")
    assert caught.value.path == str(model / name)
    _no_secret_under(tmp_path / "copy")


def test_build_docker_refuses_and_leaves_no_bundle(
    tmp_path: Path, model: Path, secret: Path
) -> None:
    _link_outside(model, secret)
    out = tmp_path / "context"
    with pytest.raises(IntegrityError, match="notes.txt"):
        build_context(model, out, DockerOptions())
    assert not (out / "bundle").exists()


def test_pack_cli_refuses_in_one_line(tmp_path: Path, model: Path, secret: Path) -> None:
    _link_in_subfolder(model, secret)
    proc = subprocess.run(
        [sys.executable, "-m", "modelpack", "pack", str(model), "-o", "m.tar.gz"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelpack: error: "), proc.stderr
    assert "code/helpers.py" in lines[0] and "symbolic link" in lines[0]
    assert not (tmp_path / "m.tar.gz").exists()


def test_copy_model_copies_regular_files_only(tmp_path: Path, model: Path) -> None:
    (model / "code").mkdir()
    (model / "code" / "run.sh").write_text("#!/bin/sh\n")
    (model / "code" / "run.sh").chmod(0o755)
    (model / "__pycache__").mkdir()
    (model / "__pycache__" / "x.pyc").write_bytes(b"\0")
    copy_model(model, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == sorted(
        p.name for p in model.iterdir() if p.name != "__pycache__"
    )
    assert (tmp_path / "copy" / "MLmodel").read_bytes() == (model / "MLmodel").read_bytes()
    assert os.access(tmp_path / "copy" / "code" / "run.sh", os.X_OK)
