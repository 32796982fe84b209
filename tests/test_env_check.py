"""Checks at load time: one warning listing every difference, or an error with strict_env."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelpack
from modelpack import _env
from modelpack.exceptions import EnvironmentMismatchError, ModelpackWarning


def _save(tmp_path: Path, taxi_dv_lr: Any, pins: list[str]) -> Path:
    dv, lr = taxi_dv_lr
    info = modelpack.save_model(lr, tmp_path / "model", preprocessor=dv, pip_requirements=pins)
    return Path(info.model_dir)


def _set_saved_python(model_dir: Path, version: str) -> None:
    # MLmodel itself carries no digest (it holds them), so this edit passes verification.
    path = model_dir / "MLmodel"
    data = yaml.safe_load(path.read_text())
    data["flavors"]["python_function"]["python_version"] = version
    path.write_text(yaml.safe_dump(data))


def test_matching_environment_loads_silently(taxi_model_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelpackWarning)
        warnings.filterwarnings("ignore", message="loading .* pickle")
        modelpack.load_model(taxi_model_dir)


def test_each_difference_is_listed_once_per_model(tmp_path: Path, taxi_dv_lr: Any) -> None:
    numpy_now = _env.installed_version("numpy")
    model_dir = _save(
        tmp_path,
        taxi_dv_lr,
        ["scikit-learn==0.0.1", f"numpy=={numpy_now}", "not-a-real-dist==1.0", "modelpack==9.9"],
    )
    _set_saved_python(model_dir, "3.9.18")
    with pytest.warns(ModelpackWarning, match="different environment") as caught:
        modelpack.load_model(model_dir)
    message = next(str(w.message) for w in caught if "different environment" in str(w.message))
    assert "Python 3.9.18 when saved" in message
    assert re.search(r"scikit-learn==0\.0\.1 when saved, [\d.]+ now", message)
    assert "not-a-real-dist==1.0 when saved, not installed now" in message
    assert "numpy" not in message and "modelpack==" not in message
    assert f"modelpack env create {model_dir} --path" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelpackWarning)
        warnings.filterwarnings("ignore", message="loading .* pickle")
        modelpack.load_model(model_dir)  # the same model again: no second warning


def test_strict_env_raises_with_the_differences(tmp_path: Path, taxi_dv_lr: Any) -> None:
    model_dir = _save(tmp_path, taxi_dv_lr, ["scikit-learn==0.0.1"])
    with pytest.raises(EnvironmentMismatchError, match=r"scikit-learn==0\.0\.1 when saved"):
        modelpack.load_model(model_dir, strict_env=True)


def test_versions_compare_by_meaning(tmp_path: Path, taxi_dv_lr: Any) -> None:
    major, minor, *rest = (_env.installed_version("numpy") or "").split(".")
    short = f"{major}.{minor}" if rest == ["0"] else None
    model_dir = _save(tmp_path, taxi_dv_lr, [f"NumPy=={_env.installed_version('numpy')}"])
    assert _env.differences(model_dir, modelpack.load_model(model_dir).metadata) == []
    if short:
        assert _env._same(short, f"{short}.0")


def test_installed_versions_reads_directory_names() -> None:
    found = _env.installed_versions(["scikit-learn", "scikit_learn", "PyYAML", "no-such-dist"])
    assert found["scikit-learn"] == found["scikit_learn"] == _env.installed_version("scikit-learn")
    assert found["PyYAML"] == _env.installed_version("PyYAML")
    assert found["no-such-dist"] is None
