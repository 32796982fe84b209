"""A wheelhouse for a set of requirements: resolved by pip for the target, downloaded once.

pip resolves (``pip install --dry-run --report``), for the target platform and Python
version, with ``--only-binary=:all:`` so that every file is a wheel that installs without a
compiler. The report names each file's URL and SHA-256; modelpack downloads them itself (with a
progress bar), checks every hash, and keeps them in a cache keyed by file name, so packing a
second model, or the same one again, downloads nothing that is already there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelpack._optional import require
from modelpack._progress import Progress
from modelpack.exceptions import IntegrityError, ModelpackError

__all__ = ["Wheel", "default_cache_dir", "fetch", "resolve", "sha256_of"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Wheel:
    """One resolved distribution file."""

    name: str
    version: str
    url: str
    sha256: str | None

    @property
    def filename(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlparse(self.url).path.rsplit("/", 1)[-1])


def default_cache_dir() -> Path:
    env = os.environ.get("MODELPACK_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "modelpack"
    return base.expanduser() / "wheels"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _target_args(platforms: Sequence[str], python_version: str | None) -> list[str]:
    args = ["--only-binary=:all:"]
    for p in platforms:
        args += ["--platform", p]
    if python_version:
        args += ["--python-version", python_version]
    return args


def resolve(
    requirements: Sequence[str],
    *,
    constraints: Sequence[str] = (),
    platforms: Sequence[str] = (),
    python_version: str | None = None,
    find_links: Sequence[str | os.PathLike[str]] = (),
    no_index: bool = False,
) -> list[Wheel]:
    """Resolve ``requirements`` to one wheel per distribution for the target."""
    # pip runs as a subprocess of this interpreter; environments made by uv have no pip.
    require("pip", "pack", purpose="resolving the wheels of a bundle")
    with tempfile.TemporaryDirectory(prefix="modelpack-resolve-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            "-",
            "-r",
            str(req),
        ]
        if constraints:
            con = Path(tmp) / "constraints.txt"
            con.write_text("\n".join(constraints) + "\n", encoding="utf-8")
            cmd += ["-c", str(con)]
        cmd += _target_args(platforms, python_version)
        for d in find_links:
            cmd += ["--find-links", os.fspath(d)]
        if no_index:
            cmd.append("--no-index")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = "\n".join(line for line in proc.stderr.splitlines() if "ignored" not in line)
        raise ModelpackError(
            "pip could not resolve wheels for the model's requirements for the target "
            f"(platforms: {', '.join(platforms) or 'this machine'}, Python "
            f"{python_version or 'this one'}):\n{detail.strip()}\nA distribution without a "
            "wheel for the target can be built with `pip wheel` and passed with --find-links."
        )
    report = json.loads(proc.stdout)
    out = []
    for item in report.get("install", []):
        info = item["download_info"]
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        meta = item["metadata"]
        out.append(Wheel(meta["name"], meta["version"], info["url"], hashes.get("sha256")))
    return out


def _download(url: str, dest: Path, label: str) -> None:
    tmp = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=180) as resp, open(tmp, "wb") as out:
        size = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
        with Progress(int(size) if size else None, label) as bar:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                bar.advance(len(chunk))
    os.replace(tmp, dest)


def fetch(wheels: Sequence[Wheel], dest_dir: Path, *, cache_dir: Path | None = None) -> list[Path]:
    """Put every wheel in ``dest_dir`` (from the cache, or downloaded into it), hash-checked."""
    cache = cache_dir or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for i, wheel in enumerate(wheels, 1):
        cached = cache / wheel.filename
        if not cached.is_file() or (wheel.sha256 and sha256_of(cached) != wheel.sha256):
            _download(wheel.url, cached, f"[{i}/{len(wheels)}] {wheel.filename[:40]}")
            actual = sha256_of(cached)
            if wheel.sha256 and actual != wheel.sha256:
                cached.unlink()
                raise IntegrityError(
                    f"{wheel.filename} downloaded from {wheel.url} has SHA-256 {actual}, but the "
                    f"index announced {wheel.sha256}; the download was corrupted or tampered "
                    "with. Try again, or check your index and proxy."
                )
        target = dest_dir / wheel.filename
        try:
            os.link(cached, target)  # same file system: no copy
        except OSError:
            shutil.copy2(cached, target)
        out.append(target)
    return out
