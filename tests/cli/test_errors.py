"""Every error a user can cause ends the CLI with one ``modelpack: error: ...`` line and status 1.

Each case runs ``python -m modelpack`` in a real subprocess and checks that standard error holds
exactly that line: no traceback, no second line.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.cli import error_line
from modelpack.exceptions import ManifestError, ModelExistsError


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        # warnings are lines of their own; the point here is the error line
        env={**os.environ, "PYTHONWARNINGS": "ignore", "MODELPACK_STORE_URI": str(cwd / "store")},
        timeout=180,
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import modelpack

    path = tmp_path_factory.mktemp("cli-errors") / "model"
    x = np.arange(6.0).reshape(3, 2)
    modelpack.save_model(LinearRegression().fit(x, [1.0, 2.0, 3.0]), path, input_example=x[:1])
    return path


def _copy_with_manifest(model_dir: Path, where: Path, edit: Callable[[str], str]) -> Path:
    target = where / "edited-model"
    shutil.copytree(model_dir, target)
    manifest = target / "MLmodel"
    manifest.write_text(edit(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    return target


def _unknown_flavor(text: str) -> str:
    return text.replace("\n  sklearn:", "\n  nosuch:").replace("flavor: sklearn", "flavor: nosuch")


def _input_csv(where: Path) -> str:
    (where / "in.csv").write_text("0,1\n2.0,3.0\n", encoding="utf-8")
    return str(where / "in.csv")


CASES = {
    "bad-uri-scheme": (
        lambda m, t: ["info", "nope://somewhere/model"],
        "invalid model URI 'nope://somewhere/model': unknown scheme 'nope'",
    ),
    "no-model-at-path": (
        lambda m, t: ["predict", str(t / "missing"), "-i", _input_csv(t), "-o", "out.csv"],
        "no model at",
    ),
    "unregistered-model": (
        lambda m, t: ["info", "models:/ghost/1"],
        "no registered model named 'ghost'",
    ),
    "unknown-flavor": (
        lambda m, t: [
            "predict",
            str(_copy_with_manifest(m, t, _unknown_flavor)),
            "-i",
            _input_csv(t),
            "-o",
            "out.csv",
        ],
        "no flavor named 'nosuch'",
    ),
    "corrupt-manifest": (
        lambda m, t: ["info", str(_copy_with_manifest(m, t, lambda _: "flavors: [unclosed\n"))],
        "MLmodel is not valid YAML",
    ),
    "missing-input-file": (
        lambda m, t: ["predict", str(m), "-i", str(t / "missing.csv"), "-o", "out.csv"],
        "cannot open the input",
    ),
    "missing-archive": (
        lambda m, t: ["unpack", str(t / "nothere.tar.gz"), "-o", str(t)],
        "No such file or directory: ",
    ),
    "output-under-a-file": (
        lambda m, t: [
            "pack",
            str(m),
            "-o",
            str(_a_file(t) / "sub" / "x.tar.gz"),
        ],
        "Not a directory: ",
    ),
}


def _a_file(where: Path) -> Path:
    path = where / "a-file"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_user_error_is_one_line(model_dir: Path, tmp_path: Path, case: str) -> None:
    make_args, expected = CASES[case]
    result = _cli(*make_args(model_dir, tmp_path), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("modelpack: error: ") and expected in lines[0], lines[0]
    assert not (tmp_path / "out.csv").exists()


def test_busy_port_is_one_line(model_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _cli("serve", str(model_dir), "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("modelpack: error: cannot listen on")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            FileNotFoundError(2, "No such file or directory", "in.csv"),
            "No such file or directory: 'in.csv'",
        ),
        (PermissionError(13, "Permission denied", "a", None, "b"), "Permission denied: 'a' -> 'b'"),
        (OSError(98, "cannot listen on 127.0.0.1:80: Address in use"), "cannot listen on"),
        (ModelExistsError("m exists; pass overwrite=True"), "m exists; pass overwrite=True"),
        (ManifestError("bad YAML:\n  line 1\n\n  column 2"), "bad YAML: line 1 column 2"),
        (ValueError(""), "ValueError"),
    ],
    ids=[
        "os-error-with-file",
        "two-files",
        "os-error-message",
        "modelpack-os-error",
        "multi-line",
        "empty",
    ],
)
def test_error_line(error: BaseException, line: str) -> None:
    assert line in error_line(error) and "\n" not in error_line(error)
