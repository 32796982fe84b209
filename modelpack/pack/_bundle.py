"""``modelpack pack``: one archive that serves a model on a machine with Python and no network.

Layout of ``NAME.tar.gz`` (everything under one top-level folder ``NAME/``)::

    BUNDLE.json         kind, Python version, platforms, SHA-256 of every other file
    bootstrap.py        verifies the files, creates the environment offline, runs modelpack
    serve, predict      POSIX entry scripts calling bootstrap.py
    model/              the model directory, as saved
    requirements.lock   every wheel of wheelhouse/, pinned with its SHA-256 (pip --require-hashes)
    wheelhouse/         the wheels for the target platform, and a wheel of modelpack itself
    conda-env.tar.gz    instead of the lock, for a conda bundle (packed by conda-pack)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform as _platform
import shutil
import stat
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modelpack import _env
from modelpack._integrity import file_digest
from modelpack._progress import Progress
from modelpack._safe_copy import copy_model_file, copy_model_tree, kind_of
from modelpack._version import __version__
from modelpack.exceptions import IntegrityError, ModelpackError
from modelpack.pack import _bootstrap
from modelpack.pack._archive import DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE
from modelpack.pack._python import model_python
from modelpack.pack._selfwheel import build_self_wheel

__all__ = [
    "BUNDLE_FORMAT",
    "PackOptions",
    "assemble",
    "copy_model",
    "pack",
    "unpack",
    "write_archive",
]

BUNDLE_FORMAT = 1
MANIFEST = _bootstrap.MANIFEST
_ENTRY = """#!/bin/sh
# {what} the bundled model. The first run creates its environment from this bundle, with no
# network; later runs reuse it. Set PYTHON to choose the interpreter (default: python3).
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec "${{PYTHON:-python3}}" "$here/bootstrap.py" {command} "$@"
"""


@dataclass(frozen=True)
class PackOptions:
    """How to pack: target platforms, environment kind, where wheels come from."""

    platforms: Sequence[str] = ()
    env: str = "auto"  # "auto", "wheelhouse" or "conda"
    conda_prefix: str | None = None
    find_links: Sequence[str] = ()
    cache_dir: str | None = None
    #: modelpack extras the bundle installs besides the model's own requirements: the server
    #: for ``serve``, pandas and pyarrow for ``predict``
    extras: Sequence[str] = ("serve", "batch")
    source_uri: str | None = None
    extra_files: dict[str, str] = field(default_factory=dict)


def _extra_requirements(extras: Sequence[str]) -> list[str]:
    """modelpack's own requirements (and those of ``extras``) as Requires-Dist lines."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    try:
        lines = requires("modelpack") or []
    except PackageNotFoundError:
        return []
    out = []
    for line in lines:
        req = Requirement(line)
        if req.name == "modelpack":
            continue
        marker = str(req.marker) if req.marker else ""
        if "extra" not in marker or any(req.marker.evaluate({"extra": e}) for e in extras):  # type: ignore[union-attr]
            req.marker = None
            out.append(str(req))
    return out


def _wheelhouse(bundle: Path, model_dir: Path, python: str, options: PackOptions) -> None:
    from modelpack.pack import _wheelhouse as wh

    model_reqs = (model_dir / _env.REQUIREMENTS_FILE).read_text(encoding="utf-8").splitlines()
    wanted = [r for r in model_reqs if r.strip() and _env.requirement_names([r]) != ["modelpack"]]
    extra = _extra_requirements(options.extras)
    wanted += extra
    # Pin what the model and modelpack need to the versions installed now (where they are):
    # the bundle then restores the environment the model was checked in.
    lock_file = model_dir / _env.LOCK_FILE
    pins = (
        [e.line().split(" ")[0] for e in _env.read_lock(lock_file)] if lock_file.is_file() else []
    )
    extra_names = set(_env.requirement_names(extra))
    pins += _env.pin(n for n in extra_names if _env.installed_version(n))
    pins = [p for p in dict.fromkeys(pins) if "==" in p and not p.startswith("modelpack==")]
    wheels = wh.resolve(
        wanted,
        constraints=pins,
        platforms=options.platforms,
        python_version=python,
        find_links=options.find_links,
    )
    cache = Path(options.cache_dir) if options.cache_dir else None
    files = wh.fetch(wheels, bundle / "wheelhouse", cache_dir=cache)
    own = build_self_wheel(bundle / "wheelhouse")
    lines = [
        "# The bundle's environment: every wheel in wheelhouse/, pinned with its SHA-256.",
        "# pip install --no-index --find-links wheelhouse --require-hashes -r requirements.lock",
    ]
    entries = [
        _env.LockEntry(_env.normalize(w.name), w.version, (f"sha256:{wh.sha256_of(f)}",))
        for w, f in zip(wheels, files)
    ]
    entries.append(_env.LockEntry("modelpack", __version__, (f"sha256:{wh.sha256_of(own)}",)))
    lines += [e.line() for e in sorted(entries, key=lambda e: e.name)]
    (bundle / "requirements.lock").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _entry_scripts(bundle: Path) -> None:
    shutil.copy2(Path(_bootstrap.__file__), bundle / "bootstrap.py")
    for command, what in (("serve", "Serves"), ("predict", "Scores data with")):
        script = bundle / command
        script.write_text(_ENTRY.format(what=what, command=command), encoding="utf-8")
        script.chmod(0o755)


def _env_kind(options: PackOptions) -> str:
    if options.env == "auto":
        prefix = options.conda_prefix or sys.prefix
        return "conda" if (Path(prefix) / "conda-meta").is_dir() else "wheelhouse"
    if options.env not in ("wheelhouse", "conda"):
        raise ModelpackError(f"--env must be auto, wheelhouse or conda, not {options.env!r}")
    return options.env


def copy_model(model_dir: Path, dest: Path) -> None:
    """Copy the model directory's regular files and folders into the new directory ``dest``.

    A symbolic link (wherever it points), a device, a FIFO or a socket is an
    :class:`IntegrityError` naming it: what a link points at never enters a bundle.
    """
    copy_model_tree(model_dir, dest, action="pack", skip=("__pycache__",))


def assemble(model_dir: Path, bundle: Path, options: PackOptions) -> dict[str, Any]:
    """Write the bundle's files into the empty directory ``bundle``; return its manifest."""
    copy_model(model_dir, bundle / "model")
    model_dir = bundle / "model"  # from here on, only the copy's regular files are read
    python = model_python(model_dir)
    kind = _env_kind(options)
    manifest: dict[str, Any] = {
        "bundle_format": BUNDLE_FORMAT,
        "kind": kind,
        "name": bundle.name,
        "model": "model",
        "source_uri": options.source_uri,
        "python": python,
        "platforms": list(options.platforms) or [f"{sys.platform}-{_platform.machine()}"],
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "modelpack_version": __version__,
    }
    if kind == "conda":
        from modelpack.pack._conda import pack_conda_env

        prefix = options.conda_prefix or os.environ.get("CONDA_PREFIX") or sys.prefix
        manifest["conda_env"] = pack_conda_env(Path(prefix), bundle)
        build_self_wheel(bundle / "wheelhouse")
    else:
        _wheelhouse(bundle, model_dir, python, options)
    for rel, source in options.extra_files.items():
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        copy_model_file(source, bundle / rel, action=f"pack the extra file {rel!r} from")
    _entry_scripts(bundle)
    manifest["files"] = _digests(bundle)
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel != MANIFEST and "__pycache__" not in rel:
                out[rel] = file_digest(path)
    return out


class _Counting:
    """A file wrapper that advances a progress bar as tarfile reads it."""

    def __init__(self, f: IO[bytes], bar: Progress) -> None:
        self._f, self._bar = f, bar

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._bar.advance(len(data))
        return data


def _archived(path: Path) -> bool:
    """Whether ``path`` goes into the archive: regular files only, never through a link."""
    if "__pycache__" in path.parts:
        return False
    mode = path.lstat().st_mode
    if stat.S_ISDIR(mode):
        return False
    if not stat.S_ISREG(mode):
        raise IntegrityError(
            f"refusing to archive {path}: it is {kind_of(mode)}; a bundle holds only regular files",
            path=str(path),
        )
    return True


def write_archive(bundle: Path, output: Path) -> None:
    """tar.gz ``bundle`` (as its top-level folder) into ``output``, atomically."""
    files = sorted(p for p in bundle.rglob("*") if _archived(p))
    total = sum(p.stat().st_size for p in files)
    tmp = output.with_name(output.name + ".part")
    # Level 1: wheels are zip files already, so stronger levels cost time and save ~nothing.
    with (
        Progress(total, f"writing {output.name}") as bar,
        tarfile.open(tmp, "w:gz", compresslevel=1) as tar,
    ):
        for path in files:
            info = tar.gettarinfo(
                str(path), arcname=f"{bundle.name}/{path.relative_to(bundle).as_posix()}"
            )
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            with open(path, "rb") as f:
                tar.addfile(info, _Counting(f, bar))
    os.replace(tmp, output)


def bundle_name(output: Path) -> str:
    name = output.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return output.stem


def pack(
    model_uri: str | os.PathLike[str], output: str | os.PathLike[str], options: PackOptions
) -> Path:
    """Pack a model into ``output`` (``.tar.gz``); return the archive's path."""
    from modelpack._load import open_model

    model_dir, _ = open_model(model_uri)  # verified before anything is copied
    out = Path(output).expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".modelpack-pack-", dir=out.parent) as tmp:
        bundle = Path(tmp) / bundle_name(out)
        bundle.mkdir()
        assemble(model_dir, bundle, options)
        write_archive(bundle, out)
    return out


def unpack(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_files: int | None = DEFAULT_MAX_FILES,
) -> Path:
    """Extract a bundle safely into ``target`` and verify it; return the bundle's folder.

    Nothing is left behind when the archive is unsafe, exceeds a cap, is truncated or damaged,
    or a file does not match its digest.

    Parameters
    ----------
    archive, target
        The bundle (``.tar.gz``) and the directory to put its folder in.
    max_size, max_files
        The most bytes the bundle may expand to (default 10 GiB) and the most members it may
        hold (default 100,000); None for no cap. Exceeding one raises UnsafeArchiveError.
    """
    from modelpack.pack._archive import safe_extract

    with open(archive, "rb"):  # a missing or unreadable archive fails before anything is made
        pass
    dest = Path(target).expanduser().absolute()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".modelpack-unpack-", dir=dest))
    try:
        names = safe_extract(archive, staging, max_size=max_size, max_files=max_files)
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1:
            raise IntegrityError(f"{archive} is not a modelpack bundle (no single top folder)")
        top = tops.pop()
        root = staging / top
        try:
            found = _bootstrap.problems(root)
        except (_bootstrap.BundleError, KeyError, TypeError) as e:
            found = [f"{MANIFEST}: missing or invalid ({e})"]
        if found:
            raise IntegrityError(
                f"the bundle {archive} does not match its {MANIFEST}: "
                + "; ".join(found)
                + ". It was modified or damaged after packing; get a fresh copy."
            )
        final = dest / top
        if final.exists():
            raise ModelpackError(f"{final} already exists; remove it or unpack elsewhere")
        os.replace(root, final)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
