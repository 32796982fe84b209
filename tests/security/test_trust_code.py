"""Trust never comes from the file being judged: skops types come from modelpack and the
caller, never from the manifest; a model's code/ folder runs only after its digests pass, never
ahead of installed packages, and never under allow_pickle=False."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelpack
from modelpack._integrity import file_digest
from modelpack.exceptions import IntegrityError, UnsafeModelError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _edit(model_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load((model_dir / "MLmodel").read_text())
    change(data)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(data))


def _plant_system_call(skops_file: Path) -> None:
    """Add a node that constructs posix.system to a real skops file's schema."""
    source = zipfile.ZipFile(io.BytesIO(skops_file.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["hook"] = {
                    "__class__": "system",
                    "__module__": "posix",
                    "__loader__": "FunctionNode",
                    "content": {"module_path": "posix", "function": "system"},
                    "__id__": 1,
                }
                data = json.dumps(schema).encode()
            target.writestr(name, data)
    skops_file.write_bytes(out.getvalue())


def _with_system_call(model_dir: Path, *, listed_in_manifest: bool) -> None:
    _plant_system_call(model_dir / "model.skops")

    def change(d: dict[str, Any]) -> None:
        d["modelpack"]["files"]["model.skops"] = file_digest(model_dir / "model.skops")
        if listed_in_manifest:
            d["flavors"]["sklearn"]["skops_trusted_types"] = ["posix.system"]

    _edit(model_dir, change)


@pytest.mark.parametrize("listed_in_manifest", [True, False], ids=["manifest-trusts", "plain"])
def test_skops_system_call_is_refused(taxi_model_dir: Path, listed_in_manifest: bool) -> None:
    _with_system_call(taxi_model_dir, listed_in_manifest=listed_in_manifest)
    with pytest.raises(UnsafeModelError, match=r"posix\.system") as info:
        modelpack.load_model(taxi_model_dir)
    assert "trusted_types" in str(info.value)
    with pytest.raises(UnsafeModelError, match=r"posix\.system"):
        modelpack.sklearn.load_model(taxi_model_dir)


def test_caller_trust_is_the_only_way_in(taxi_model_dir: Path) -> None:
    _with_system_call(taxi_model_dir, listed_in_manifest=True)
    native = modelpack.sklearn.load_model(taxi_model_dir, trusted_types=["posix.system"])
    assert hasattr(native, "coef_")  # loads only because the caller said so


def test_trusted_types_must_be_a_list(taxi_model_dir: Path) -> None:
    with pytest.raises(TypeError, match="list of type names"):
        modelpack.load_model(taxi_model_dir, trusted_types="posix.system")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- code/
_SHADOW = "open({marker!r}, 'w').close()\nraise ImportError('shadowed')\n"


def _save_with_code(tmp_path: Path, taxi_dv_lr: Any, files: dict[str, str]) -> Path:
    _, lr = taxi_dv_lr
    sources = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        sources.append(str(tmp_path / name))
    path = tmp_path / "with-code"
    modelpack.save_model(lr, path, code_paths=sources)
    return path


def _load_in_fresh_process(model_dir: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    script = (
        "import sys, modelpack\n"
        f"m = modelpack.load_model({str(model_dir)!r}, **{kwargs!r})\n"
        "import sklearn\n"
        "print('code-last', sys.path.index(str(m.model_dir / 'code')) == len(sys.path) - 1)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_code_sklearn_does_not_shadow_the_installed_one(tmp_path: Path, taxi_dv_lr: Any) -> None:
    marker = tmp_path / "shadow-ran"
    model_dir = _save_with_code(
        tmp_path, taxi_dv_lr, {"sklearn.py": _SHADOW.format(marker=str(marker))}
    )
    result = _load_in_fresh_process(model_dir)
    assert result.returncode == 0, result.stderr
    assert "code-last True" in result.stdout
    assert not marker.exists()


def test_unlisted_code_file_is_refused(tmp_path: Path, taxi_dv_lr: Any) -> None:
    model_dir = _save_with_code(tmp_path, taxi_dv_lr, {"helpers.py": "X = 1\n"})
    (model_dir / "code" / "extra.py").write_text("import os\n")
    with pytest.raises(IntegrityError, match="no digest") as info:
        modelpack.load_model(model_dir)
    assert info.value.path == "code/extra.py"


def test_modified_code_file_is_refused(tmp_path: Path, taxi_dv_lr: Any) -> None:
    model_dir = _save_with_code(tmp_path, taxi_dv_lr, {"helpers.py": "X = 1\n"})
    (model_dir / "code" / "helpers.py").write_text("X = 2\n")
    with pytest.raises(IntegrityError, match="does not match") as info:
        modelpack.load_model(model_dir)
    assert info.value.path == "code/helpers.py"


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_code_outside_the_model_is_refused(
    taxi_model_dir: Path, tmp_path: Path, where: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    code = str(outside) if where == "absolute" else "../elsewhere"
    _edit(taxi_model_dir, lambda d: d["flavors"]["python_function"].__setitem__("code", code))
    before = list(sys.path)
    with pytest.raises(IntegrityError, match="outside the model directory") as info:
        modelpack.load_model(taxi_model_dir)
    assert info.value.path == code
    assert sys.path == before


def test_code_is_refused_like_a_pickle(tmp_path: Path, taxi_dv_lr: Any, taxi: Any) -> None:
    model_dir = _save_with_code(tmp_path, taxi_dv_lr, {"helpers.py": "X = 1\n"})
    with pytest.raises(UnsafeModelError, match="code/"):
        modelpack.load_model(model_dir, allow_pickle=False)
    with pytest.raises(UnsafeModelError, match="code/"):
        modelpack.sklearn.load_model(model_dir, allow_pickle=False)
