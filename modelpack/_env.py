"""The model's environment: capture (requirements, lock, python_env.yaml, conda.yaml) and checks.

Capture takes milliseconds: it reads installed distribution metadata and never starts a
subprocess or reloads the model.

At load time, :func:`check_environment` compares the running environment with the captured one
and warns (or raises) listing each difference.

``requirements.txt`` lists what the model itself needs, pinned. ``requirements.lock`` pins the
whole dependency closure of those requirements as installed when the model was saved (markers
evaluated for the saving machine), in pip's requirements format so both ``pip`` and ``uv pip``
install it. Hashes are written only when every installed distribution records the hash of the
archive it came from (``direct_url.json``); a partial set would switch pip into hash-checking
mode and fail on the rest. ``modelpack pack`` writes a fully hashed lock beside its wheelhouse.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import platform
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from modelpack._version import __version__
from modelpack.exceptions import EnvironmentMismatchError, warn

if TYPE_CHECKING:
    from modelpack._manifest import Manifest

__all__ = [
    "CONDA_FILE",
    "LOCK_FILE",
    "PYTHON_ENV_FILE",
    "REQUIREMENTS_FILE",
    "LockEntry",
    "check_environment",
    "differences",
    "distribution_of",
    "installed_version",
    "installed_versions",
    "lock",
    "normalize",
    "pin",
    "python_version",
    "read_lock",
    "requirement_names",
    "restore_hint",
    "write_environment",
    "write_lock",
]

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"
LOCK_FILE = "requirements.lock"
_BUILD_PACKAGES = ("pip", "setuptools", "wheel")


def python_version() -> str:
    return platform.python_version()


def installed_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    return _installed(dist)


def installed_versions(dists: Iterable[str]) -> dict[str, str | None]:
    """Installed versions of several distributions, read from ``*.dist-info`` directory names.

    One listing per ``sys.path`` entry answers them all, which keeps the check that runs on
    every model load to a millisecond or two.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        with os.scandir(entry) as it:
            for d in it:
                if d.name.endswith(".dist-info"):
                    name, _, ver = d.name[: -len(".dist-info")].partition("-")
                    found.setdefault(normalize(name), ver)
    return {d: found.get(normalize(d)) or _installed(d) for d in dists}


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


@functools.cache
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
    write_lock(model_dir, requirements)


# ---------------------------------------------------------------------- lock
@dataclass(frozen=True)
class LockEntry:
    """One pinned distribution of a lock; ``hashes`` are ``sha256:<hex>`` strings."""

    name: str
    version: str
    hashes: tuple[str, ...] = field(default=())

    def line(self) -> str:
        head = f"{self.name}=={self.version}"
        return " \\\n    ".join([head, *(f"--hash={h}" for h in self.hashes)])


def normalize(name: str) -> str:
    """The canonical form of a distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_index() -> dict[str, str]:
    """Normalized name -> ``*.dist-info`` directory, in ``sys.path`` order (first one wins).

    One directory listing per ``sys.path`` entry: far cheaper than one
    ``importlib.metadata.distribution`` lookup per name, each of which lists them all again.
    """
    index: dict[str, str] = {}
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        with os.scandir(entry) as it:
            for d in it:
                if d.name.endswith(".dist-info"):
                    index.setdefault(normalize(d.name[: -len(".dist-info")].split("-")[0]), d.path)
    return index


def _metadata(info_dir: str) -> tuple[str, str, list[str]]:
    """(name, version, Requires-Dist lines) from a METADATA file's headers."""
    name = version_ = ""
    requires: list[str] = []
    with open(os.path.join(info_dir, "METADATA"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                break  # the headers end at the first blank line; the description follows
            key, _, value = line.partition(":")
            if key == "Name":
                name = value.strip()
            elif key == "Version":
                version_ = value.strip()
            elif key == "Requires-Dist":
                requires.append(value.strip())
    return name, version_, requires


def _archive_hashes(info_dir: str) -> tuple[str, ...]:
    """The hash of the archive a distribution was installed from, when pip recorded one."""
    try:
        with open(os.path.join(info_dir, "direct_url.json"), encoding="utf-8") as f:
            info = json.load(f).get("archive_info") or {}
    except (OSError, ValueError):
        return ()
    hashes = info.get("hashes") or {}
    if "sha256" in hashes:
        return (f"sha256:{hashes['sha256']}",)
    algo, _, digest = str(info.get("hash", "")).partition("=")
    return (f"sha256:{digest}",) if algo == "sha256" and digest else ()


def lock(requirements: Sequence[str]) -> tuple[list[LockEntry], list[str]]:
    """Pin the installed closure of ``requirements``; return (entries, names not installed).

    Markers are evaluated for the running interpreter and the extras each requirement asks for.
    """
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement

    index = _installed_index()
    env = {str(k): str(v) for k, v in default_environment().items()}
    todo: list[tuple[str, frozenset[str]]] = []
    for line in requirements:
        try:
            req = Requirement(line.split("#", 1)[0].strip())
        except InvalidRequirement:
            continue
        todo.append((normalize(req.name), frozenset(req.extras)))
    done: dict[str, set[str]] = {}
    entries: dict[str, LockEntry] = {}
    missing: list[str] = []
    while todo:
        key, extras = todo.pop()
        if key in done and extras <= done[key]:
            continue
        done.setdefault(key, set()).update(extras)
        info_dir = index.get(key)
        if info_dir is None:
            missing.append(key)
            continue
        name, ver, requires = _metadata(info_dir)
        entries[key] = LockEntry(normalize(name or key), ver, _archive_hashes(info_dir))
        wanted = [{**env, "extra": e} for e in ("", *sorted(done[key]))]
        for spec in requires:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate(w) for w in wanted):
                todo.append((normalize(req.name), frozenset(req.extras)))
    return [entries[k] for k in sorted(entries)], sorted(set(missing))


def write_lock(model_dir: Path, requirements: Sequence[str], *, path: Path | None = None) -> Path:
    """Write ``requirements.lock`` for ``requirements`` and return its path."""
    entries, missing = lock(requirements)
    # Hash-checking mode is all or nothing in pip: write hashes only if every entry has one.
    all_hashed = all(e.hashes for e in entries if e.name != "modelpack")
    head = [
        "# Every distribution this model needs, pinned as installed when it was saved",
        f"# (Python {python_version()}, {sys.platform}, {platform.machine()}).",
        "# modelpack is not on PyPI: `modelpack env create` installs a wheel of the running",
        "# modelpack; install the rest with: pip install --no-deps -r requirements.lock",
    ]
    head += [f"# not installed when saved, so not locked: {m}" for m in missing]
    lines = []
    for e in entries:
        if e.name == "modelpack":
            lines.append(f"# modelpack=={e.version}")
            continue
        lines.append(e.line() if all_hashed else f"{e.name}=={e.version}")
    target = path or model_dir / LOCK_FILE
    target.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    return target


def read_lock(path: Path) -> list[LockEntry]:
    """Parse a lock written by :func:`write_lock` or by ``modelpack pack``."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    out: list[LockEntry] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or "==" not in line or line.startswith("-"):
            continue
        spec, *opts = line.split()
        name, _, ver = spec.partition("==")
        hashes = tuple(o[len("--hash=") :] for o in opts if o.startswith("--hash="))
        out.append(LockEntry(normalize(name), ver, hashes))
    return out


# ---------------------------------------------------------------------- load-time check
_warned: set[str] = set()


def _pins(model_dir: Path) -> dict[str, str]:
    req_file = model_dir / REQUIREMENTS_FILE
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
    running = python_version()
    if saved_py and str(saved_py).split(".")[:2] != running.split(".")[:2]:
        out.append(f"Python {saved_py} when saved, {running} now")
    pins = _pins(model_dir)
    installed = installed_versions(pins)
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
        f"pip install -r {model_dir / REQUIREMENTS_FILE} in this environment)"
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
