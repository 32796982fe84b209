"""A python_function model's own artifacts are copied without following links (issue 13):
``save_model(..., artifacts={...})`` resolves the path the caller names (a link there is the
caller's choice), but a link inside a named folder (wherever it points), a FIFO, a socket or
a device is an IntegrityError naming it; the save leaves no model behind, nothing a link
pointed at is copied, and a FIFO never blocks the save."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack.exceptions import IntegrityError
from modelpack.pyfunc import PythonModel

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SECRET = b"ARTIFACT-SECRET-5d1c"


class ReadsArtifact(PythonModel):
    def load_context(self, context: Any) -> None:
        self.artifacts = dict(context.artifacts)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return [Path(self.artifacts["data"]).is_dir()] * len(model_input)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".aws" / "credentials"
    path.parent.mkdir(parents=True)
    path.write_bytes(SECRET)
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "vocab.txt").write_text("a b c")
    (folder / "sub" / "weights.bin").write_bytes(b"\x00" * 64)
    return folder


def _link_out(data: Path, secret: Path) -> str:
    (data / "sub" / "creds").symlink_to(secret)
    return "sub/creds"


def _link_to_folder_out(data: Path, secret: Path) -> str:
    (data / "home").symlink_to(secret.parent, target_is_directory=True)
    return "home"


def _link_in(data: Path, secret: Path) -> str:
    (data / "again.txt").symlink_to("vocab.txt")
    return "again.txt"


def _passwd(data: Path, secret: Path) -> str:
    (data / "notes").symlink_to("/etc/passwd")
    return "notes"


def _fifo(data: Path, secret: Path) -> str:
    os.mkfifo(data / "sub" / "pipe")
    return "sub/pipe"


def _socket(data: Path, secret: Path) -> str:
    # a Unix socket path is limited to ~100 bytes: bind through a short relative name
    here = os.getcwd()
    os.chdir(data)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("sock")
    finally:
        os.chdir(here)
    return "sock"


IN_FOLDER: dict[str, Callable[[Path, Path], str]] = {
    "link-to-a-file-outside": _link_out,
    "link-to-a-folder-outside": _link_to_folder_out,
    "link-inside-the-folder": _link_in,
    "link-to-etc-passwd": _passwd,
    "fifo": _fifo,
    "socket": _socket,
}


def _copies(root: Path, secret: Path) -> list[Path]:
    """Regular files under ``root``, other than the secret itself, holding the secret or
    /etc/passwd's first line."""
    passwd = Path("/etc/passwd").read_bytes().splitlines()[0]
    return [
        p
        for p in root.rglob("*")
        if p != secret
        and p.is_file()
        and not p.is_symlink()
        and (SECRET in p.read_bytes() or passwd in p.read_bytes())
    ]


@pytest.mark.timeout(120)  # a FIFO opened for reading would block the save
@pytest.mark.parametrize("make", list(IN_FOLDER.values()), ids=list(IN_FOLDER))
def test_a_folder_with_a_link_or_special_file_is_refused(
    tmp_path: Path, data: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(data, secret)
    target = tmp_path / "model"
    with pytest.raises(IntegrityError, match=f"save the artifact 'data' from .*: {name} is") as e:
        modelpack.save_model(ReadsArtifact(), target, artifacts={"data": str(data)})
    assert e.value.path == str(data / name)
    assert not target.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith((".model", "model"))] == []
    assert _copies(tmp_path, secret) == []


def test_the_message_says_where_a_link_points_and_what_to_do(
    tmp_path: Path, data: Path, secret: Path
) -> None:
    _link_out(data, secret)
    with pytest.raises(IntegrityError) as e:
        modelpack.save_model(ReadsArtifact(), tmp_path / "m", artifacts={"data": str(data)})
    message = str(e.value)
    assert f"sub/creds is a symbolic link to {secret} (outside the artifact folder)" in message
    assert "replace the link with a copy of the file it points to, or remove it" in message


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_special_file_named_directly_is_refused_unopened(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        special = tmp_path / "pipe"
        os.mkfifo(special)
    else:
        special = Path("/dev/zero")  # reading it would never end
    with pytest.raises(IntegrityError, match=f"{special.name} is a (FIFO|device)"):
        modelpack.save_model(ReadsArtifact(), tmp_path / "m", artifacts={"data": str(special)})
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_link_named_directly_is_resolved(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    named = tmp_path / "latest"
    named.symlink_to(data if what == "folder" else data / "vocab.txt")
    target = tmp_path / "model"
    modelpack.save_model(ReadsArtifact(), target, artifacts={"data": str(named)})
    copied = target / "artifacts" / "latest"
    assert not copied.is_symlink()
    if what == "folder":
        assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")) == [
            "sub",
            "sub/weights.bin",
            "vocab.txt",
        ]
        assert not any(p.is_symlink() for p in copied.rglob("*"))
    else:
        assert copied.read_text() == "a b c"
    monkeypatch.chdir(tmp_path)
    named.unlink()  # the model carries its own copy
    assert modelpack.load_model(target).predict([{"x": 1}]) == [what == "folder"]


def test_a_clean_folder_is_copied_whole(tmp_path: Path, data: Path) -> None:
    (data / "run.sh").write_text("#!/bin/sh\n")
    (data / "run.sh").chmod(0o750)
    modelpack.save_model(ReadsArtifact(), tmp_path / "m", artifacts={"data": str(data)})
    copied = tmp_path / "m" / "artifacts" / "data"
    assert (copied / "sub" / "weights.bin").read_bytes() == b"\x00" * 64
    assert (copied / "run.sh").stat().st_mode & 0o100  # still executable
