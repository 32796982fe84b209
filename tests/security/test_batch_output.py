"""``modelpack predict -o`` never replaces a FIFO, device or socket, and output errors are one
line.

The output is written under a temporary name and renamed into place, which would swap a FIFO
or device node for a regular file: each is refused, and left as it was. Every case runs the
real command line in a subprocess.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.batch import BatchError, predict_file


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelpack

    path = tmp_path_factory.mktemp("batch-out") / "model"
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.2]})
    model = LinearRegression().fit(frame, np.array([1.0, 2.0, 3.0]))
    modelpack.save_model(model, path, input_example=frame.head(2))
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=180,
        check=False,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelpack: error: "), proc.stderr
    return lines[0]


def _fifo(where: Path) -> Path:
    os.mkfifo(where / "out.csv")
    return where / "out.csv"


def _device(where: Path) -> Path:
    # a null device node of our own: if it were replaced, only this test's copy would be lost
    try:
        os.mknod(where / "out.csv", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs privileges")
    return where / "out.csv"


def _socket(where: Path) -> Path:
    here = os.getcwd()
    os.chdir(where)  # a relative name: socket paths are limited to ~100 bytes
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind("out.csv")
    finally:
        os.chdir(here)
    return where / "out.csv"


def _link_to_fifo(where: Path) -> Path:
    os.mkfifo(where / "real.pipe")
    (where / "out.csv").symlink_to(where / "real.pipe")
    return where / "out.csv"


SPECIAL: dict[str, Callable[[Path], Path]] = {
    "fifo": _fifo,
    "device": _device,
    "socket": _socket,
    "link-to-fifo": _link_to_fifo,
}


@pytest.mark.timeout(120)  # opening the FIFO for writing would block: it must not be opened
@pytest.mark.parametrize("make", list(SPECIAL.values()), ids=list(SPECIAL))
def test_special_output_is_refused_and_kept(
    tmp_path: Path, model: Path, data: Path, make: Callable[[Path], Path]
) -> None:
    out = make(tmp_path)
    kind = stat.S_IFMT(os.stat(out).st_mode)
    line = _one_error_line(
        _cli("predict", str(model), "-i", str(data), "-o", str(out), cwd=tmp_path)
    )
    assert "not a regular file" in line and "-o -" in line
    assert stat.S_IFMT(os.stat(out).st_mode) == kind  # still a FIFO / device / socket
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_special_output_is_refused_in_python(tmp_path: Path, model: Path, data: Path) -> None:
    out = _fifo(tmp_path)
    with pytest.raises(BatchError, match="FIFO, not a regular file"):
        predict_file(model, data, output=out)
    assert stat.S_ISFIFO(os.stat(out).st_mode)


def test_link_to_a_regular_file_is_followed(tmp_path: Path, model: Path, data: Path) -> None:
    real = tmp_path / "results" / "real.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    (tmp_path / "out.csv").symlink_to(real)
    proc = _cli("predict", str(model), "-i", str(data), "-o", "out.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.csv").is_symlink()  # the link stays; the file behind it is new
    assert real.read_text().splitlines()[0] == '"prediction"'


def _can_create_in(folder: Path) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def _unwritable_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if _can_create_in(folder):  # root ignores the mode: use a folder the kernel refuses
        folder = Path("/sys")
        if not folder.is_dir() or _can_create_in(folder):
            pytest.skip("no unwritable folder available to this user")
    return folder


def test_unwritable_output_folder_is_one_line(tmp_path: Path, model: Path, data: Path) -> None:
    folder = _unwritable_dir(tmp_path)
    line = _one_error_line(
        _cli("predict", str(model), "-i", str(data), "-o", str(folder / "out.csv"), cwd=tmp_path)
    )
    assert f"cannot write {folder / 'out.csv'}" in line and "directory you can write to" in line


def test_output_gets_the_umask_mode(tmp_path: Path, model: Path, data: Path) -> None:
    script = f'umask 027 && exec "{sys.executable}" -m modelpack predict "$@"'
    proc = subprocess.run(
        ["sh", "-c", script, "sh", str(model), "-i", str(data), "-o", "out.csv"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o640
