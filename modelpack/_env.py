"""Environment capture: pinned ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``.

Capture takes milliseconds: it reads installed distribution metadata and never starts a
subprocess or reloads the model.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from modelpack._version import __version__

__all__ = [
    "CONDA_FILE",
    "PYTHON_ENV_FILE",
    "REQUIREMENTS_FILE",
    "distribution_of",
    "installed_version",
    "pin",
    "python_version",
    "requirement_names",
    "write_environment",
]

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"
_BUILD_PACKAGES = ("pip", "setuptools", "wheel")


def python_version() -> str:
    return platform.python_version()


def installed_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    return _installed(dist)


def _installed(dist: str) -> str | None:
    if dist == "modelpack":
        return __version__
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _provides(info_dir: str, root: str) -> bool:
    """Whether the ``*.dist-info`` directory lists top-level module ``root``."""
    try:
        with open(os.path.join(info_dir, "top_level.txt"), encoding="utf-8") as f:
            return root in f.read().split()
    except OSError:
        pass
    try:
        with open(os.path.join(info_dir, "RECORD"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return False
    return any(
        text.startswith(p) or f"\n{p}" in text for p in (f"{root}/", f"{root}.py,", f"{root}.")
    )


def _dist_name(info_dir: str) -> str:
    try:
        with open(os.path.join(info_dir, "METADATA"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("Name:"):
                    return line[5:].strip()
                if not line.strip():
                    break
    except OSError:
        pass
    return os.path.basename(info_dir).rsplit("-", 1)[0]


def _info_dirs(root: str) -> list[str]:
    """Candidate metadata directories, those in the module's own site directory first."""
    spec = importlib.util.find_spec(root)
    origin = spec.origin if spec is not None and spec.origin not in (None, "built-in") else None
    paths = list(spec.submodule_search_locations or ()) if spec is not None else []
    home = os.path.dirname(paths[0] if paths else origin or "")
    entries = [os.path.dirname(home)] if paths else []
    entries += [home] + [p for p in sys.path if p]
    seen: set[str] = set()
    out: list[str] = []
    for entry in entries:
        if entry in seen or not os.path.isdir(entry):
            continue
        seen.add(entry)
        with os.scandir(entry) as it:
            out += [d.path for d in it if d.name.endswith((".dist-info", ".egg-info"))]
    return out


@functools.lru_cache(maxsize=None)
def distribution_of(module: str) -> str | None:
    """The installed distribution that provides top-level ``module``, or None.

    Reads only the metadata directories beside the module, cheapest files first, and stops at
    the first that lists it: a few milliseconds, where scanning every distribution's file list
    takes a large fraction of a second on a full environment.
    """
    root = module.partition(".")[0]
    if not root or root in sys.stdlib_module_names or root in ("builtins", "__main__"):
        return None
    try:
        candidates = _info_dirs(root)
    except (ImportError, ValueError):
        return None
    # A metadata directory named like the module is the likely answer: check it first.
    key = root.lower().replace("-", "_")
    candidates.sort(key=lambda d: not os.path.basename(d).lower().startswith(key + "-"))
    for info_dir in candidates:
        if _provides(info_dir, root):
            return _dist_name(info_dir)
    return None


def pin(dists: Iterable[str]) -> list[str]:
    """``name==version`` for each installed distribution (sorted, unique); others unpinned."""
    out: dict[str, str] = {}
    for dist in dists:
        key = dist.strip().lower().replace("_", "-")
        if not key or key in out:
            continue
        installed = _installed(key)
        out[key] = f"{key}=={installed}" if installed else key
    return [out[k] for k in sorted(out)]


def requirement_names(lines: Sequence[str]) -> list[str]:
    """Distribution names in requirement lines (options and comments skipped)."""
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            names.append(Requirement(line).name)
        except InvalidRequirement:
            continue
    return names


def write_environment(model_dir: Path, requirements: Sequence[str]) -> None:
    """Write the three environment files describing ``requirements``."""
    (model_dir / REQUIREMENTS_FILE).write_text("\n".join(requirements) + "\n", encoding="utf-8")
    py = python_version()
    build = [p for p in pin(_BUILD_PACKAGES) if "==" in p]
    python_env = {
        "python": py,
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    (model_dir / PYTHON_ENV_FILE).write_text(
        yaml.safe_dump(python_env, sort_keys=False), encoding="utf-8"
    )
    pip_version = _installed("pip")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={py}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": list(requirements)},
        ],
        "name": "modelpack-env",
    }
    (model_dir / CONDA_FILE).write_text(yaml.safe_dump(conda, sort_keys=False), encoding="utf-8")
