"""``modelpack info`` describes a model without verifying its digests, so it reads the model's
``requirements.txt`` the careful way (issue 13): a FIFO there never hangs it, a link to
``/dev/zero`` or to a file outside never feeds it, and a file far too large is refused unread.
Each is an error naming the file, from a real ``python -m modelpack`` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack._safe_copy import read_model_file
from modelpack.exceptions import IntegrityError


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return "is a FIFO"


def _dev_zero(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return "is a symbolic link to /dev/zero"


def _passwd(path: Path) -> str:
    path.symlink_to("/etc/passwd")
    return "is a symbolic link to /etc/passwd"


def _huge(path: Path) -> str:
    with open(path, "wb") as f:
        f.truncate(64 << 20)  # sparse: costs no disk
    return "larger than 1048576 bytes"


CASES: dict[str, Callable[[Path], str]] = {
    "fifo": _fifo,
    "link-to-dev-zero": _dev_zero,
    "link-to-etc-passwd": _passwd,
    "huge": _huge,
}


def _info(model_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", "info", str(model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


@pytest.mark.timeout(180)
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_info_refuses_a_hostile_requirements_file(
    taxi_model_dir: Path, make: Callable[[Path], str]
) -> None:
    req = taxi_model_dir / "requirements.txt"
    req.unlink()
    expected = make(req)
    result = _info(taxi_model_dir)
    assert result.returncode != 0, result.stdout
    assert "requirements.txt" in result.stderr and expected in result.stderr, result.stderr
    assert "root:" not in result.stdout + result.stderr  # nothing of /etc/passwd shown


def test_info_still_lists_requirements(taxi_model_dir: Path) -> None:
    result = _info(taxi_model_dir)
    assert result.returncode == 0, result.stderr
    assert "scikit-learn==" in result.stdout


def test_read_model_file_reads_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_model_file(path, limit=10) == b"x" * 10
    with pytest.raises(IntegrityError, match="larger than 9 bytes") as e:
        read_model_file(path, limit=9)
    assert e.value.path == str(path)
    with pytest.raises(FileNotFoundError):
        read_model_file(tmp_path / "absent", limit=10)
