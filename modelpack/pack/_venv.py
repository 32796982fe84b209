"""``modelpack env create``: a virtual environment restored from a model's captured requirements.

The environment gets the model's lock (``requirements.lock``, every transitive dependency
pinned; ``requirements.txt`` for models saved without one) and modelpack itself. modelpack
is not on PyPI, so it is installed from a wheel: one found in a ``--find-links`` directory,
else one built on the spot from the running modelpack (see ``_selfwheel``). The wheel is
given to the installer as a file, so the index is never asked for a ``modelpack``
distribution (which could be somebody else's).

``uv`` is used when it is available (``uv venv`` + ``uv pip install``, much faster); else
``python -m venv`` + ``pip``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelpack import _env
from modelpack.exceptions import ModelpackError
from modelpack.pack._python import model_python

__all__ = ["EnvPlan", "create_env", "find_uv", "requirement_lines"]


@dataclass(frozen=True)
class EnvPlan:
    """What ``create_env`` ran, for the caller to report."""

    path: Path
    python: str
    installer: str
    source: str
    modelpack_wheel: Path


def find_uv() -> str | None:
    """The ``uv`` executable: on PATH, or the one the ``uv`` Python package ships."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return None


def requirement_lines(model_dir: Path) -> tuple[list[str], str]:
    """The lines to install (modelpack left out) and the file they came from."""
    lock = model_dir / _env.LOCK_FILE
    source = lock if lock.is_file() else model_dir / _env.REQUIREMENTS_FILE
    if not source.is_file():
        raise ModelpackError(
            f"{model_dir} has neither {_env.LOCK_FILE} nor {_env.REQUIREMENTS_FILE}"
        )
    entries = _env.read_lock(source) if source == lock else None
    if entries is not None:
        return [e.line() for e in entries if e.name != "modelpack"], source.name
    lines = [
        line.strip()
        for line in source.read_text(encoding="utf-8").splitlines()
        if line.strip()
        and not line.startswith("#")
        and _env.requirement_names([line]) != ["modelpack"]
    ]
    return lines, source.name


def _python_for(model_dir: Path, uv: str | None) -> str:
    """An interpreter of the Python minor version the model was saved with."""
    want = model_python(model_dir)
    if want == ".".join(_env.python_version().split(".")[:2]):
        return sys.executable
    if uv:
        return want  # uv finds an installed interpreter of that version
    found = shutil.which(f"python{want}")
    if not found:
        raise ModelpackError(
            f"the model was saved with Python {want}, which is not on PATH (python{want}); "
            "install it, or run this command with that Python"
        )
    return found


def _run(cmd: Sequence[str], *, quiet: bool) -> None:
    if not quiet:
        print("+ " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(list(cmd), check=False, capture_output=quiet, text=True)
    if proc.returncode != 0:
        detail = f":\n{proc.stderr.strip()}" if quiet and proc.stderr else ""
        raise ModelpackError(f"environment creation failed running {' '.join(cmd)}{detail}")


def _env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def create_env(
    model_dir: Path,
    path: str | os.PathLike[str],
    *,
    find_links: Sequence[str | os.PathLike[str]] = (),
    offline: bool = False,
    use_uv: bool | None = None,
    quiet: bool = False,
) -> EnvPlan:
    """Create a virtual environment at ``path`` with everything ``model_dir`` needs."""
    target = Path(path).expanduser().absolute()
    if target.exists() and any(target.iterdir()):
        raise ModelpackError(f"{target} exists and is not empty; choose a new --path")
    uv = find_uv() if use_uv is not False else None
    if use_uv and not uv:
        raise ModelpackError("uv was requested but is not installed; pip install uv")
    python = _python_for(model_dir, uv)
    lines, source = requirement_lines(model_dir)
    links = [Path(d) for d in find_links]
    try:
        wheel = _install(target, python, uv, lines, links, offline=offline, quiet=quiet)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never leave a half-made environment
        raise
    return EnvPlan(target, python, "uv" if uv else "venv+pip", source, wheel)


def _install(
    target: Path,
    python: str,
    uv: str | None,
    lines: list[str],
    links: list[Path],
    *,
    offline: bool,
    quiet: bool,
) -> Path:
    from modelpack.pack._selfwheel import build_self_wheel, find_wheel

    with tempfile.TemporaryDirectory(prefix="modelpack-env-") as tmp:
        wheel = find_wheel(links) or build_self_wheel(tmp)
        if any("--hash=" in line for line in lines):
            # pip's hash-checking mode is all or nothing: the wheel needs its hash too.
            from modelpack.pack._wheelhouse import sha256_of

            lines.append(f"{wheel} --hash=sha256:{sha256_of(wheel)}")
        else:
            lines.append(str(wheel))
        req = Path(tmp) / "requirements.txt"
        req.write_text("\n".join(lines) + "\n", encoding="utf-8")
        opts = [arg for d in links for arg in ("--find-links", str(d))]
        opts += ["--no-index"] if offline else []
        if uv:
            _run([uv, "venv", "--quiet", "--python", python, str(target)], quiet=quiet)
            install = [uv, "pip", "install", "--python", str(_env_python(target))]
        else:
            _run([python, "-m", "venv", str(target)], quiet=quiet)
            install = [
                str(_env_python(target)),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
            ]
        _run([*install, *(["--quiet"] if quiet else []), "-r", str(req), *opts], quiet=quiet)
        return wheel if wheel.parent in links else Path(wheel.name)
