"""``modelpack env create`` / ``env export``: real environments, built offline from a wheelhouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from modelpack import _env
from modelpack.pack._selfwheel import build_self_wheel, wheel_name
from modelpack.pack._venv import find_uv

CLI = [sys.executable, "-m", "modelpack"]
_PREDICT = (
    "import json, sys, warnings; warnings.simplefilter('ignore'); import modelpack; "
    "m = modelpack.load_model(sys.argv[1]); "
    "print(json.dumps([float(v) for v in m.predict(json.loads(sys.argv[2]))]))"
)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def _offline_env() -> dict[str, str]:
    # No index, no find-links or proxy from this machine's pip/uv configuration: only the
    # directories the test names can provide wheels.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1")
    return env


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path) -> Path:
    return bundle_dir / "wheelhouse"


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory, bundle_archive: Path) -> Path:
    from modelpack.pack._bundle import unpack

    return unpack(bundle_archive, tmp_path_factory.mktemp("unpacked"))


def _check_env(env_dir: Path, model_dir: Path, taxi: Any, taxi_dv_lr: Any) -> None:
    _, records, _ = taxi
    dv, lr = taxi_dv_lr
    python = env_dir / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-c", _PREDICT, str(model_dir), json.dumps(records[:5])],
        capture_output=True,
        text=True,
        check=False,
        cwd=env_dir,
    )
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(json.loads(proc.stdout), lr.predict(dv.transform(records[:5])))
    freeze = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print('\\n'.join("
            "f'{d.metadata[\"Name\"]}=={d.version}' for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    for entry in _env.read_lock(model_dir / "requirements.lock"):
        assert f"{entry.name.replace('-', '_')}=={entry.version}" in freeze.replace("-", "_")
    assert "pytest" not in freeze


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
def test_env_create_with_uv_offline(
    tmp_path: Path, packable_model: Path, wheelhouse: Path, taxi: Any, taxi_dv_lr: Any
) -> None:
    target = tmp_path / "venv"
    proc = _cli(
        "env",
        "create",
        str(packable_model),
        "--path",
        str(target),
        "--offline",
        "--find-links",
        str(wheelhouse),
        "--uv",
        "--quiet",
        env=_offline_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "with uv from requirements.lock" in proc.stdout
    assert wheel_name() in proc.stdout
    _check_env(target, packable_model, taxi, taxi_dv_lr)


@pytest.mark.slow
def test_env_create_with_venv_and_pip_offline(
    tmp_path: Path, packable_model: Path, wheelhouse: Path, taxi: Any, taxi_dv_lr: Any
) -> None:
    target = tmp_path / "venv"
    proc = _cli(
        "env",
        "create",
        str(packable_model),
        "--path",
        str(target),
        "--offline",
        "--find-links",
        str(wheelhouse),
        "--no-uv",
        "--quiet",
        env=_offline_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "with venv+pip" in proc.stdout
    _check_env(target, packable_model, taxi, taxi_dv_lr)


def test_env_create_offline_without_the_wheels_fails_clearly(
    tmp_path: Path, packable_model: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _cli(
        "env",
        "create",
        str(packable_model),
        "--path",
        str(tmp_path / "venv"),
        "--offline",
        "--find-links",
        str(empty),
        "--quiet",
        env=_offline_env(),
    )
    assert proc.returncode == 1
    assert "environment creation failed" in proc.stderr
    assert "unsatisfiable" in proc.stderr or "No matching distribution" in proc.stderr
    assert not (tmp_path / "venv").exists()  # the half-made environment is removed


def test_env_create_refuses_a_non_empty_path(tmp_path: Path, packable_model: Path) -> None:
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "keep.txt").write_text("mine")
    proc = _cli("env", "create", str(packable_model), "--path", str(tmp_path / "venv"))
    assert proc.returncode == 1 and "not empty" in proc.stderr
    assert (tmp_path / "venv" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("fmt", ["requirements", "lock", "conda"])
def test_env_export(packable_model: Path, fmt: str) -> None:
    proc = _cli("env", "export", str(packable_model), "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    sklearn = f"scikit-learn=={_env.installed_version('scikit-learn')}"
    if fmt == "conda":
        data = yaml.safe_load(proc.stdout)
        assert data["dependencies"][0].startswith("python=")
        assert sklearn in data["dependencies"][-1]["pip"]
    else:
        assert sklearn in proc.stdout.splitlines()
    if fmt == "lock":
        assert "scipy==" in proc.stdout and "# modelpack==" in proc.stdout


def test_self_wheel_is_reproducible_and_installable_metadata(tmp_path: Path) -> None:
    import zipfile

    a = build_self_wheel(tmp_path / "a")
    b = build_self_wheel(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        names = zf.namelist()
        meta = zf.read("modelpack-0.1.0.dist-info/METADATA").decode()
        record = zf.read("modelpack-0.1.0.dist-info/RECORD").decode()
    assert "modelpack/__init__.py" in names and "modelpack/pack/_bootstrap.py" in names
    assert not any(n.endswith(".pyc") for n in names)
    assert "Requires-Dist: PyYAML" in meta
    assert all(n in record for n in names)
