"""Safe extraction of tar and zip archives: nothing is ever written outside the target.

Every member is checked before anything is written, and each is refused with
:class:`~modelpack.exceptions.UnsafeArchiveError` when it

* has an absolute name or a drive (``/etc/passwd``, ``C:\\x``),
* has a ``..`` component, or a NUL byte,
* is a symbolic or hard link whose target lies outside the target directory (or is absolute),
* is a device, a FIFO or any other special file.

Members are written by this module, not by ``tarfile.extractall``: regular files and
directories with owner permissions only (no set-uid bits, no ownership changes), links after
their targets were checked, and each file path is resolved again just before writing, so a
link created earlier cannot redirect a later member.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from modelpack.exceptions import UnsafeArchiveError

__all__ = ["Member", "is_archive", "safe_extract"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One archive entry, reduced to what extraction needs."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink"
    size: int = 0
    mode: int = 0o644
    link: str = ""


def _is_zip(path: str | os.PathLike[str]) -> bool:
    # By the leading signature, not zipfile.is_zipfile: that one looks for a zip directory
    # near the end, which an uncompressed tar whose last member is a wheel also has.
    with open(path, "rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def is_archive(path: str | os.PathLike[str]) -> bool:
    return _is_zip(path) or tarfile.is_tarfile(path)


def _refuse(archive: str, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"refusing to extract {archive}: member {member!r} {why}; the archive may be "
        "malicious. Nothing was extracted."
    )


def _clean_name(archive: str, raw: str) -> str:
    name = raw.replace("\\", "/")
    if "\x00" in name:
        raise _refuse(archive, raw, "contains a NUL byte")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise _refuse(archive, raw, "has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(archive, raw, "has a '..' component")
    return "/".join(parts)


def _tar_members(tf: tarfile.TarFile, archive: str) -> Iterator[Member]:
    for info in tf.getmembers():
        name = _clean_name(archive, info.name)
        if info.isdir():
            yield Member(name, "dir", mode=info.mode)
        elif info.isreg():
            yield Member(name, "file", size=info.size, mode=info.mode)
        elif info.issym():
            yield Member(name, "symlink", link=info.linkname)
        elif info.islnk():
            yield Member(name, "hardlink", link=_clean_name(archive, info.linkname))
        else:
            raise _refuse(archive, info.name, "is a device, FIFO or other special file")


def _zip_members(zf: zipfile.ZipFile, archive: str) -> Iterator[Member]:
    for info in zf.infolist():
        name = _clean_name(archive, info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            yield Member(name, "symlink", link=zf.read(info).decode("utf-8"))
        elif info.is_dir():
            yield Member(name, "dir")
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # many zip tools write no type bits
            raise _refuse(archive, info.filename, "is a device, FIFO or other special file")
        else:
            yield Member(name, "file", size=info.file_size, mode=mode or 0o644)


def _check_links(members: list[Member], archive: str) -> None:
    names = {m.name for m in members}
    symlinks = {m.name for m in members if m.kind == "symlink"}
    for m in members:
        parts = m.name.split("/")
        through = next(
            ("/".join(parts[:i]) for i in range(1, len(parts)) if "/".join(parts[:i]) in symlinks),
            None,
        )
        if through is not None:
            raise _refuse(archive, m.name, f"lies under the link {through!r}")
        if m.kind == "symlink":
            if m.link.startswith("/") or (len(m.link) > 1 and m.link[1] == ":"):
                raise _refuse(archive, m.name, f"is a link to the absolute path {m.link!r}")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(m.name), m.link))
            if resolved == ".." or resolved.startswith("../"):
                raise _refuse(archive, m.name, f"is a link pointing outside ({m.link!r})")
        elif m.kind == "hardlink" and m.link not in names:
            raise _refuse(archive, m.name, f"is a hard link to {m.link!r}, not in the archive")


def _inside(root: Path, path: Path) -> Path:
    """``path`` with every existing link resolved; an error if that leaves ``root``."""
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise UnsafeArchiveError(f"refusing to write {path}: it resolves to {real}, outside {root}")
    return real


def _copy(src: IO[bytes], dest: Path, mode: int) -> None:
    # Owner permissions only, executable bits kept: no set-uid, set-gid or sticky bits.
    perms = 0o755 if mode & 0o111 else 0o644
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), perms)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(src, out, _CHUNK)


def _write(root: Path, members: list[Member], opener: object) -> None:
    links: list[Member] = []
    for m in members:
        target = root / m.name
        if m.kind == "dir":
            _inside(root, target).mkdir(parents=True, exist_ok=True)
            continue
        if m.kind in ("symlink", "hardlink"):
            links.append(m)  # written last, so no file is ever written through one
            continue
        parent = _inside(root, target.parent)
        parent.mkdir(parents=True, exist_ok=True)
        dest = _inside(root, parent / target.name)
        if dest.is_symlink() or dest.is_dir():
            raise UnsafeArchiveError(f"refusing to overwrite {dest} while extracting")
        with opener(m) as src:  # type: ignore[operator]
            _copy(src, dest, m.mode)
    for m in links:
        target = root / m.name
        parent = _inside(root, target.parent)
        parent.mkdir(parents=True, exist_ok=True)
        if m.kind == "symlink":
            os.symlink(m.link, parent / target.name)
            try:
                _inside(root, parent / target.name)
            except UnsafeArchiveError:
                os.unlink(parent / target.name)
                raise
        else:
            shutil.copy2(_inside(root, root / m.link), parent / target.name)


def safe_extract(
    archive: str | os.PathLike[str], target: str | os.PathLike[str], *, max_bytes: int | None = None
) -> list[str]:
    """Extract a tar (optionally compressed) or zip archive into ``target``; return the names.

    Raises
    ------
    UnsafeArchiveError
        When any member is unsafe (see the module docstring), or the archive would expand to
        more than ``max_bytes``; nothing is written in that case.
    """
    path = os.fspath(archive)
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(root))
    if _is_zip(path):
        with zipfile.ZipFile(path) as zf:
            members = list(_zip_members(zf, path))
            _precheck(members, path, max_bytes)
            infos = {_clean_name(path, i.filename): i for i in zf.infolist()}
            _write(root, members, lambda m: zf.open(infos[m.name]))
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            members = list(_tar_members(tf, path))
            _precheck(members, path, max_bytes)
            by_name = {_clean_name(path, i.name): i for i in tf.getmembers()}
            _write(root, members, lambda m: _tar_reader(tf, by_name[m.name]))
    else:
        raise UnsafeArchiveError(f"{path} is neither a tar nor a zip archive")
    return [m.name for m in members]


def _tar_reader(tf: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    reader = tf.extractfile(info)
    if reader is None:  # pragma: no cover - regular files always have a reader
        raise UnsafeArchiveError(f"cannot read member {info.name!r}")
    return reader


def _precheck(members: list[Member], archive: str, max_bytes: int | None) -> None:
    _check_links(members, archive)
    total = sum(m.size for m in members)
    if max_bytes is not None and total > max_bytes:
        raise UnsafeArchiveError(
            f"refusing to extract {archive}: it expands to {total} bytes, more than the "
            f"{max_bytes} allowed"
        )
