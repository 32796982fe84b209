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

Expansion is bounded: an archive holding more than ``max_files`` members, or whose members
add up to more than ``max_size`` bytes, is refused before anything is written, and the bytes
actually written are counted too (a hard link is a full copy), so extraction stops at the cap
even if the headers understate it. On any failure, what this call created is removed. A
truncated or damaged archive is an :class:`~modelpack.exceptions.IntegrityError`.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modelpack._progress import human_size
from modelpack.exceptions import IntegrityError, UnsafeArchiveError

__all__ = [
    "DEFAULT_MAX_FILES",
    "DEFAULT_MAX_SIZE",
    "Member",
    "is_archive",
    "parse_size",
    "safe_extract",
]

#: the default cap on the bytes an archive may expand to (10 GiB)
DEFAULT_MAX_SIZE = 10 * 1024**3
#: the default cap on the number of members (files, directories and links) of an archive
DEFAULT_MAX_FILES = 100_000

_CHUNK = 1 << 20
# What reading a damaged archive raises: truncated or corrupt compressed data (EOFError,
# zlib.error, lzma.LZMAError, gzip.BadGzipFile and bz2's OSError), bad headers and CRCs.
_DAMAGED = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, OSError)


@dataclass(frozen=True)
class Member:
    """One archive entry, reduced to what extraction needs."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink"
    size: int = 0
    mode: int = 0o644
    link: str = ""
    #: the TarInfo or ZipInfo it came from
    source: Any = field(default=None, compare=False, repr=False)


def _is_zip(path: str | os.PathLike[str]) -> bool:
    # By the leading signature, not zipfile.is_zipfile: that one looks for a zip directory
    # near the end, which an uncompressed tar whose last member is a wheel also has.
    with open(path, "rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def is_archive(path: str | os.PathLike[str]) -> bool:
    return _is_zip(path) or tarfile.is_tarfile(path)


def parse_size(text: str) -> int:
    """Bytes from ``"10G"``, ``"500MB"``, ``"2GiB"`` or ``"1048576"`` (units are powers of 1024)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*", text, re.IGNORECASE)
    if not found:
        raise ValueError(f"expected a size such as 500M, 10G or 1048576, got {text!r}")
    number, unit = float(found.group(1)), found.group(2).lower()
    return int(number * 1024 ** " kmgt".index(unit or " "))


def _refuse(archive: str, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"refusing to extract {archive}: member {member!r} {why}; the archive may be "
        "malicious. Nothing was extracted."
    )


def _damaged(archive: str, error: BaseException | str) -> IntegrityError:
    detail = str(error) or type(error).__name__
    return IntegrityError(
        f"cannot read {archive}: it is truncated or damaged ({detail}); nothing extracted was "
        "kept. Get a fresh copy of the archive.",
        path=archive,
    )


@dataclass
class _Budget:
    """The caps of one extraction, and the bytes written so far."""

    archive: str
    max_size: int | None
    max_files: int | None
    written: int = 0

    def _too_big(self, what: str, outcome: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"refusing to extract {self.archive}: {what}, more than the max_size cap of "
            f"{human_size(self.max_size or 0)} ({self.max_size} bytes); {outcome}. If you "
            "trust the archive, raise the cap with --max-size SIZE (max_size= in Python)."
        )

    def count(self, n: int) -> None:
        if self.max_files is not None and n > self.max_files:
            raise UnsafeArchiveError(
                f"refusing to extract {self.archive}: it holds more than {self.max_files:,} "
                "members, the max_files cap. Nothing was extracted. If you trust the archive, "
                "raise the cap with --max-files N (max_files= in Python)."
            )

    def declared(self, total: int) -> None:
        if self.max_size is not None and total > self.max_size:
            raise self._too_big(f"it expands to {total} bytes or more", "nothing was extracted")

    def add(self, n: int) -> None:
        self.written += n
        if self.max_size is not None and self.written > self.max_size:
            raise self._too_big(
                f"its data runs to {self.written} bytes or more, though its headers declared less",
                "what was extracted was removed",
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


def _named(archive: str, raw: str, kind: str) -> str:
    name = _clean_name(archive, raw)
    if not name and kind != "dir":  # "" or "./" names the target itself
        raise _refuse(archive, raw, "has no name")
    return name


def _tar_members(tf: tarfile.TarFile, archive: str, budget: _Budget) -> Iterator[Member]:
    # One header at a time (not getmembers()), so an archive of millions of empty members is
    # refused after max_files of them instead of being listed in memory first.
    n = total = 0
    while (info := tf.next()) is not None:
        n += 1
        budget.count(n)
        # before the next header is looked for past this member's data: with compression,
        # getting there means decompressing all of it
        total += info.size if info.isreg() else 0
        budget.declared(total)
        name = _named(archive, info.name, "dir" if info.isdir() else "other")
        if info.isdir():
            yield Member(name, "dir", mode=info.mode, source=info)
        elif info.isreg():
            yield Member(name, "file", size=info.size, mode=info.mode, source=info)
        elif info.issym():
            yield Member(name, "symlink", link=info.linkname, source=info)
        elif info.islnk():
            yield Member(name, "hardlink", link=_clean_name(archive, info.linkname), source=info)
        else:
            raise _refuse(archive, info.name, "is a device, FIFO or other special file")


def _zip_declared_count(path: str) -> int | None:
    """The member count the zip's end record announces (read before zipfile lists them all)."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 22 - 0xFFFF))
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return None
        count = int.from_bytes(tail[at + 10 : at + 12], "little")
        if count == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
            f.seek(int.from_bytes(tail[at - 12 : at - 4], "little"))  # the zip64 end record
            record = f.read(40)
            if record[:4] == b"PK\x06\x06" and len(record) == 40:
                count = int.from_bytes(record[32:40], "little")
        return count


def _zip_members(zf: zipfile.ZipFile, archive: str, budget: _Budget) -> Iterator[Member]:
    infos = zf.infolist()
    budget.count(len(infos))
    for info in infos:
        is_dir = info.filename.endswith("/")  # ZipInfo.is_dir() fails on an empty name
        name = _named(archive, info.filename, "dir" if is_dir else "other")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            if info.file_size > 4096:
                raise _refuse(archive, info.filename, "is a link with an over-long target")
            link = zf.read(info).decode("utf-8", errors="replace")
            yield Member(name, "symlink", link=link, source=info)
        elif is_dir:
            yield Member(name, "dir", source=info)
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # many zip tools write no type bits
            raise _refuse(archive, info.filename, "is a device, FIFO or other special file")
        else:
            yield Member(name, "file", size=info.file_size, mode=mode or 0o644, source=info)


def _check_links(members: list[Member], archive: str) -> None:
    files = {m.name for m in members if m.kind == "file"}
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
            if "\x00" in m.link or not m.link:
                raise _refuse(archive, m.name, "is a link with an empty target or a NUL byte")
            if m.link.startswith("/") or (len(m.link) > 1 and m.link[1] == ":"):
                raise _refuse(archive, m.name, f"is a link to the absolute path {m.link!r}")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(m.name), m.link))
            if resolved == ".." or resolved.startswith("../"):
                raise _refuse(archive, m.name, f"is a link pointing outside ({m.link!r})")
        elif m.kind == "hardlink" and m.link not in files:
            raise _refuse(
                archive, m.name, f"is a hard link to {m.link!r}, not a file in the archive"
            )


def _declared_size(members: list[Member]) -> int:
    """The bytes the members expand to: each file, and a full copy for each hard link."""
    sizes = {m.name: m.size for m in members if m.kind == "file"}
    return sum(m.size for m in members) + sum(
        sizes.get(m.link, 0) for m in members if m.kind == "hardlink"
    )


def _inside(root: Path, path: Path) -> Path:
    """``path`` with every existing link resolved; an error if that leaves ``root``."""
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise UnsafeArchiveError(f"refusing to write {path}: it resolves to {real}, outside {root}")
    return real


def _makedirs(root: Path, path: Path, created: list[Path]) -> None:
    """``mkdir -p`` below ``root``, recording each directory it makes."""
    missing = []
    while path != root and not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir()  # permissions from the umask, like any directory the user makes
        created.append(directory)


def _copy(src: IO[bytes], dest: Path, mode: int, budget: _Budget, created: list[Path]) -> None:
    # Owner permissions only, executable bits kept: no set-uid, set-gid or sticky bits.
    perms = 0o755 if mode & 0o111 else 0o644
    existed = os.path.lexists(dest)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), perms)
    if not existed:
        created.append(dest)
    with os.fdopen(fd, "wb") as out:
        while True:
            try:
                data = src.read(_CHUNK)
            except _DAMAGED as e:
                raise _damaged(budget.archive, e) from e
            if not data:
                return
            budget.add(len(data))  # counted before writing: the cap is never exceeded on disk
            out.write(data)


Opener = Callable[[Member], IO[bytes]]


def _write(root: Path, members: list[Member], opener: Opener, budget: _Budget) -> None:
    created: list[Path] = []
    try:
        _write_members(root, members, opener, budget, created)
    except BaseException:
        _remove(created)
        raise


def _write_members(
    root: Path, members: list[Member], opener: Opener, budget: _Budget, created: list[Path]
) -> None:
    links: list[Member] = []
    for m in members:
        target = root / m.name
        if m.kind == "dir":
            _makedirs(root, _inside(root, target), created)
            continue
        if m.kind in ("symlink", "hardlink"):
            links.append(m)  # written last, so no file is ever written through one
            continue
        parent = _inside(root, target.parent)
        _makedirs(root, parent, created)
        dest = _inside(root, parent / target.name)
        if dest.is_symlink() or dest.is_dir():
            raise UnsafeArchiveError(f"refusing to overwrite {dest} while extracting")
        try:
            src = opener(m)
        except _DAMAGED as e:
            raise _damaged(budget.archive, e) from e
        with src:
            _copy(src, dest, m.mode, budget, created)
    for m in links:
        target = root / m.name
        parent = _inside(root, target.parent)
        _makedirs(root, parent, created)
        if m.kind == "symlink":
            os.symlink(m.link, parent / target.name)
            created.append(parent / target.name)
            _inside(root, parent / target.name)
        else:
            with open(_inside(root, root / m.link), "rb") as src:
                _copy(src, parent / target.name, m.mode, budget, created)


def _remove(created: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def safe_extract(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_files: int | None = DEFAULT_MAX_FILES,
) -> list[str]:
    """Extract a tar (optionally compressed) or zip archive into ``target``; return the names.

    Parameters
    ----------
    archive, target
        The archive, and the directory to extract into (created if needed).
    max_size
        The most bytes the archive may expand to (default 10 GiB); None for no cap.
    max_files
        The most members (files, directories, links) it may hold (default 100,000); None for
        no cap.

    Raises
    ------
    UnsafeArchiveError
        When any member is unsafe (see the module docstring), or the archive exceeds a cap;
        nothing is left written in that case.
    IntegrityError
        When the archive is truncated or damaged; nothing is left written either.
    OSError
        When the archive cannot be opened (missing, unreadable) or the target not written.
    """
    path = os.fspath(archive)
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(root))
    budget = _Budget(path, max_size, max_files)
    if _is_zip(path):
        declared = _zip_declared_count(path)
        if declared is not None:
            budget.count(declared)
        try:
            zf = zipfile.ZipFile(path)
        except _DAMAGED as e:
            raise _damaged(path, e) from e
        with zf:
            members = _listed(lambda: list(_zip_members(zf, path, budget)), path)
            _precheck(members, budget)
            _write(root, members, lambda m: zf.open(m.source), budget)
    else:
        with _open_tar(path) as tf:
            members = _listed(lambda: list(_tar_members(tf, path, budget)), path)
            _precheck(members, budget)
            _write(root, members, lambda m: _tar_reader(tf, m.source), budget)
    return [m.name for m in members]


# gzip, bzip2 and xz: a file that starts like one of these but holds no readable tar is damaged
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def _open_tar(path: str) -> tarfile.TarFile:
    try:
        if tarfile.is_tarfile(path):
            return tarfile.open(path)
    except _DAMAGED as e:
        raise _damaged(path, e) from e
    with open(path, "rb") as f:
        start = f.read(6)
    if start.startswith(_COMPRESSED):
        raise _damaged(path, "compressed data that holds no readable tar archive")
    raise UnsafeArchiveError(f"{path} is neither a tar nor a zip archive (or is damaged)")


def _listed(read: Callable[[], list[Member]], archive: str) -> list[Member]:
    try:
        return read()
    except _DAMAGED as e:
        raise _damaged(archive, e) from e


def _tar_reader(tf: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    reader = tf.extractfile(info)
    if reader is None:  # pragma: no cover - regular files always have a reader
        raise UnsafeArchiveError(f"cannot read member {info.name!r}")
    return reader


def _precheck(members: list[Member], budget: _Budget) -> None:
    _check_links(members, budget.archive)
    budget.declared(_declared_size(members))
