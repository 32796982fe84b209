"""A wheel of the running modelpack, built from its installed files.

modelpack is not on PyPI, so an environment restored for a model gets the modelpack that is
running now. The wheel is written directly (a wheel is a zip with a ``.dist-info`` folder):
no build backend, no network, and the same bytes every time for the same files, so its hash
can be locked. It works the same for an editable install, a regular install or a source
checkout on ``sys.path``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import zipfile
from pathlib import Path

from modelpack._version import __version__

__all__ = ["build_self_wheel", "find_wheel", "wheel_name"]

_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: identical files give an identical wheel
# Used only when modelpack runs from a checkout that was never installed (no METADATA).
_FALLBACK_REQUIRES = ("PyYAML>=6.0", "packaging>=23.0", "numpy>=1.24", "cloudpickle>=2.2")


def wheel_name(version: str = __version__) -> str:
    return f"modelpack-{version}-py3-none-any.whl"


def find_wheel(dirs: list[Path], version: str = __version__) -> Path | None:
    """A modelpack wheel of ``version`` in one of ``dirs``, if there is one."""
    for d in dirs:
        candidate = Path(d) / wheel_name(version)
        if candidate.is_file():
            return candidate
    return None


def _metadata() -> tuple[str, str]:
    """(METADATA, entry_points.txt) of the installed modelpack, or minimal ones."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("modelpack")
        meta = dist.read_text("METADATA")
        entry_points = dist.read_text("entry_points.txt") or ""
    except PackageNotFoundError:
        meta = None
        entry_points = ""
    if not meta or f"Version: {__version__}" not in meta:
        lines = ["Metadata-Version: 2.1", "Name: modelpack", f"Version: {__version__}"]
        lines += [f"Requires-Dist: {r}" for r in _FALLBACK_REQUIRES]
        meta = "\n".join(lines) + "\n"
    if "console_scripts" not in entry_points:
        entry_points = "[console_scripts]\nmodelpack = modelpack.cli:main\n"
    return meta, entry_points


def _package_files() -> list[tuple[str, Path]]:
    import modelpack

    root = Path(modelpack.__file__).resolve().parent
    out = []
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath) / name
            out.append(("modelpack/" + path.relative_to(root).as_posix(), path))
    return out


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_self_wheel(dest_dir: str | os.PathLike[str]) -> Path:
    """Write ``modelpack-<version>-py3-none-any.whl`` into ``dest_dir`` and return its path."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    info = f"modelpack-{__version__}.dist-info"
    meta, entry_points = _metadata()
    wheel_file = (
        "Wheel-Version: 1.0\nGenerator: modelpack\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries: list[tuple[str, bytes]] = [(arc, path.read_bytes()) for arc, path in _package_files()]
    entries += [
        (f"{info}/METADATA", meta.encode()),
        (f"{info}/WHEEL", wheel_file.encode()),
        (f"{info}/entry_points.txt", entry_points.encode()),
    ]
    record = "".join(f"{arc},{_record_hash(data)},{len(data)}\n" for arc, data in entries)
    record += f"{info}/RECORD,,\n"
    target = dest / wheel_name()
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arc, data in [*entries, (f"{info}/RECORD", record.encode())]:
            zi = zipfile.ZipInfo(arc, date_time=_EPOCH)
            zi.external_attr = (stat.S_IFREG | 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    os.replace(tmp, target)
    return target
