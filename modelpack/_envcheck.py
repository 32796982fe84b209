"""Checks at load time: does the running environment match the one the model was saved with?"""

from __future__ import annotations

import warnings
from pathlib import Path

from modelpack import _env
from modelpack._manifest import Manifest
from modelpack.exceptions import EnvironmentMismatchError, ModelpackWarning

__all__ = ["check_environment", "differences"]

_warned: set[str] = set()


def differences(model_dir: Path, manifest: Manifest) -> list[str]:
    """Each way the running environment differs from the captured one, as a sentence."""
    out: list[str] = []
    saved_py = manifest.pyfunc_conf.get("python_version")
    running = _env.python_version()
    if saved_py and str(saved_py).split(".")[:2] != running.split(".")[:2]:
        out.append(f"Python {saved_py} when saved, {running} now")
    req_file = model_dir / _env.REQUIREMENTS_FILE
    if req_file.exists():
        for line in req_file.read_text(encoding="utf-8").splitlines():
            name, sep, wanted = line.split("#", 1)[0].strip().partition("==")
            if not sep or name == "modelpack":
                continue
            installed = _env.installed_version(name)
            if installed is None:
                out.append(f"{name}=={wanted} when saved, not installed now")
            elif installed != wanted:
                out.append(f"{name}=={wanted} when saved, {installed} now")
    return out


def check_environment(model_dir: Path, manifest: Manifest, *, strict: bool = False) -> None:
    """Warn once per model (or raise, when ``strict``) listing every difference."""
    found = differences(model_dir, manifest)
    if not found:
        return
    message = (
        f"the model at {model_dir} was saved in a different environment: "
        + "; ".join(found)
        + f". Restore it with: modelpack env create {model_dir} --path .venv-model"
    )
    if strict:
        raise EnvironmentMismatchError(message)
    key = manifest.model_uuid
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, ModelpackWarning, stacklevel=4)
