"""Checks at load time: does the running environment match the one the model was saved with?"""

from __future__ import annotations

from pathlib import Path

from modelpack import _env
from modelpack._manifest import Manifest
from modelpack.exceptions import EnvironmentMismatchError, warn

__all__ = ["check_environment", "differences", "restore_hint"]

_warned: set[str] = set()


def _pins(model_dir: Path) -> dict[str, str]:
    req_file = model_dir / _env.REQUIREMENTS_FILE
    try:
        text = req_file.read_text(encoding="utf-8")
    except OSError:
        return {}
    pins: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, wanted = line.split("#", 1)[0].strip().partition("==")
        name = name.strip().split("[", 1)[0]
        if sep and name and name != "modelpack":
            pins[name] = wanted.split(";", 1)[0].strip()
    return pins


def _same(wanted: str, installed: str) -> bool:
    if wanted == installed:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(wanted) == Version(installed)
    except InvalidVersion:
        return False


def differences(model_dir: Path, manifest: Manifest) -> list[str]:
    """Each way the running environment differs from the captured one, as a sentence."""
    out: list[str] = []
    saved_py = manifest.pyfunc_conf.get("python_version")
    running = _env.python_version()
    if saved_py and str(saved_py).split(".")[:2] != running.split(".")[:2]:
        out.append(f"Python {saved_py} when saved, {running} now")
    pins = _pins(model_dir)
    installed = _env.installed_versions(pins)
    for name, wanted in pins.items():
        have = installed[name]
        if have is None:
            out.append(f"{name}=={wanted} when saved, not installed now")
        elif not _same(wanted, have):
            out.append(f"{name}=={wanted} when saved, {have} now")
    return out


def restore_hint(model_dir: Path) -> str:
    return (
        f"restore it with: modelpack env create {model_dir} --path .venv-model (or "
        f"pip install -r {model_dir / _env.REQUIREMENTS_FILE} in this environment)"
    )


def check_environment(model_dir: Path, manifest: Manifest, *, strict: bool = False) -> None:
    """Warn once per model (or raise, when ``strict``) listing every difference.

    Cheap enough for every load: one requirements file and one directory listing per
    ``sys.path`` entry, never a scan of every installed distribution's files.
    """
    found = differences(model_dir, manifest)
    if not found:
        return
    message = (
        f"the model at {model_dir} was saved in a different environment: "
        + "; ".join(found)
        + f". It may fail or predict differently; {restore_hint(model_dir)}"
    )
    if strict:
        raise EnvironmentMismatchError(message + ".")
    key = manifest.model_uuid
    if key not in _warned:
        _warned.add(key)
        warn(message + "; load_model(..., strict_env=True) makes this an error.")
