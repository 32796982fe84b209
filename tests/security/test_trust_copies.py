"""The other copies of user or store folders never follow a link out either (issue 13): a
model's ``code_paths`` at save time, downloading a run's artifacts from a local store, and
``modelpack.artifacts.download_artifacts`` of a local folder. A link inside the folder
(wherever it points), a FIFO or a device is an IntegrityError naming it; a path the caller
names directly may be a link to their own file or folder, which is resolved."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

import modelpack
from modelpack._client._tracking import TrackingClient
from modelpack.artifacts import download_artifacts
from modelpack.exceptions import IntegrityError, StoreError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SECRET = b"COPY-SECRET-c0ffee"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "id_rsa"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "pkg"
    path.mkdir()
    (path / "__init__.py").write_text("")
    (path / "helpers.py").write_text("VALUE = 1\n")
    return path


def _link_out(folder: Path, secret: Path) -> str:
    (folder / "keys.py").symlink_to(secret)
    return "keys.py"


def _link_in(folder: Path, secret: Path) -> str:
    first = sorted(p.name for p in folder.iterdir() if p.is_file())[0]
    (folder / "again.py").symlink_to(first)  # a file of the folder itself
    return "again.py"


def _fifo(folder: Path, secret: Path) -> str:
    os.mkfifo(folder / "pipe")
    return "pipe"


CASES: dict[str, Callable[[Path, Path], str]] = {
    "link-out": _link_out,
    "link-in": _link_in,
    "fifo": _fifo,
}


def _copies(root: Path, secret: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p != secret and p.is_file() and not p.is_symlink() and SECRET in p.read_bytes()
    ]


def _fitted() -> LinearRegression:
    return LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_code_paths_refuse_a_link_or_fifo_inside(
    tmp_path: Path, folder: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(folder, secret)
    with pytest.raises(IntegrityError, match=f"save the code path .*: {name} is") as e:
        modelpack.save_model(_fitted(), tmp_path / "m", code_paths=[str(folder)])
    assert e.value.path == str(folder / name)
    assert not (tmp_path / "m").exists()
    assert _copies(tmp_path, secret) == []


def test_code_paths_resolve_a_link_named_directly(tmp_path: Path, folder: Path) -> None:
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "helpers.cpython-311.pyc").write_bytes(b"\x00")
    named = tmp_path / "current"
    named.symlink_to(folder, target_is_directory=True)
    modelpack.save_model(_fitted(), tmp_path / "m", code_paths=[str(named)])
    copied = tmp_path / "m" / "code" / "current"
    assert sorted(p.name for p in copied.iterdir()) == ["__init__.py", "helpers.py"]
    assert not copied.is_symlink()


def _run_with_files(tmp_path: Path) -> tuple[str, Path]:
    source = tmp_path / "logged"
    (source / "d").mkdir(parents=True)
    (source / "d" / "a.txt").write_text("aa")
    with modelpack.start_run() as run:
        modelpack.log_artifacts(str(source))
    root = Path(modelpack.get_run(run.info.run_id).info.artifact_uri)
    return run.info.run_id, root


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_downloading_from_a_store_refuses_what_was_planted(
    tmp_path: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    run_id, root = _run_with_files(tmp_path)
    name = make(root / "d", secret)
    client = TrackingClient()
    with pytest.raises(IntegrityError, match=f"refusing to download .*{name} is"):
        client.download_artifacts(run_id, "d", str(tmp_path / "out"))
    # named directly: a link out was already a StoreError ("leads outside the run's artifact
    # root"); a link inside the run, or a FIFO, is now refused too
    with pytest.raises((IntegrityError, StoreError), match=name):
        client.download_artifacts(run_id, f"d/{name}", str(tmp_path / "one"))
    assert _copies(tmp_path, secret) == []
    assert not (tmp_path / "one" / name).exists()


def test_downloading_from_a_store_still_copies_regular_files(tmp_path: Path) -> None:
    run_id, _root = _run_with_files(tmp_path)
    client = TrackingClient()
    got = Path(client.download_artifacts(run_id, "d", str(tmp_path / "out")))
    assert (got / "a.txt").read_text() == "aa"
    again = Path(client.download_artifacts(run_id, "d", str(tmp_path / "out")))  # merges
    assert again == got and (got / "a.txt").read_text() == "aa"
    one = Path(client.download_artifacts(run_id, "d/a.txt", str(tmp_path / "one")))
    assert one.read_text() == "aa"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_download_artifacts_of_a_local_folder_refuses_a_link_inside(
    tmp_path: Path, folder: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(folder, secret)
    with pytest.raises(IntegrityError, match=f"refusing to download .*: {name} is"):
        download_artifacts(str(folder), dst_path=str(tmp_path / "out"))
    assert not (tmp_path / "out" / "pkg").exists()


def test_download_artifacts_of_a_local_link_named_directly(tmp_path: Path, folder: Path) -> None:
    named = tmp_path / "latest.py"
    named.symlink_to(folder / "helpers.py")
    got = Path(download_artifacts(named.as_uri(), dst_path=str(tmp_path / "out")))
    assert got.read_text() == "VALUE = 1\n" and not got.is_symlink()
