"""Copying a model directory without following links: the one owner of "copy a model tree".

A model directory may come from someone else (a download, an archive, a colleague's share). A
symbolic link in it, listed in the digests or not, would make a plain ``shutil.copytree`` copy
whatever the link points at (``/etc/passwd``, a credentials file) into the copy: a bundle, the
registry's folder, a run's artifacts. :func:`copy_model_tree` copies regular files and folders
only; a link (wherever it points), a FIFO, a socket or a device is an
:class:`~modelpack.exceptions.IntegrityError` naming it, before its target is ever read.
:func:`copy_model_file` is the same for one file a caller names (its own artifact), and
``copy_model_tree(..., link=True)`` hard-links regular files instead of copying them where it
can (staging a model for Spark), never a link, FIFO or device. :func:`read_model_file` reads
one small file of a model (``requirements.txt`` for ``modelpack info``) the same way: a link,
FIFO or device is refused before it is read, and a file over the limit is refused unread.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from modelpack.exceptions import IntegrityError

__all__ = [
    "copy_model_file",
    "copy_model_tree",
    "kind_of",
    "not_regular_error",
    "read_model_file",
    "regular_entries",
]

_CHUNK = 1 << 20


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, for a message: ``"a symbolic link"``, ``"a FIFO"``..."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def not_regular_error(
    root: Path, path: Path, mode: int, *, action: str, tree: str = "the model directory"
) -> IntegrityError:
    """The refusal to ``action`` (``"pack"``, ``"register"``...) the tree ``root`` because of
    ``path``, which is not a regular file or folder; the message says what to do instead.
    ``tree`` names ``root`` in the message (``"outside the model directory"``)."""
    rel = path.relative_to(root).as_posix()
    what = kind_of(mode)
    if stat.S_ISLNK(mode):
        real = Path(os.path.realpath(path))
        where = "in it" if root in real.parents else f"outside {tree}"
        what += f" to {os.readlink(path)} ({where})"
        fix = "replace the link with a copy of the file it points to, or remove it"
    else:
        fix = "remove it"
    return IntegrityError(
        f"refusing to {action} {root}: {rel} is {what}. Only a model's regular files are "
        f"copied, never what a link points at; {fix}.",
        path=str(path),
    )


def _copy_file(source: Path, dest: Path, root: Path, action: str, tree: str) -> None:
    # O_NOFOLLOW and the fstat check close the gap between listing the file and opening it
    # (a file swapped for a link or a FIFO meanwhile); O_NONBLOCK keeps a FIFO from blocking.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError as e:
        if os.path.islink(source):
            mode = os.lstat(source).st_mode
            raise not_regular_error(root, source, mode, action=action, tree=tree) from e
        raise
    with open(fd, "rb") as src:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular_error(root, source, st.st_mode, action=action, tree=tree)
        with open(dest, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
    os.chmod(dest, stat.S_IMODE(st.st_mode))
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))


def _link_file(source: Path, dest: Path, root: Path, action: str, tree: str) -> None:
    """Hard-link ``source`` at ``dest``, or copy it where a link cannot be made (another file
    system, a file system without hard links)."""
    try:
        # follow_symlinks=False: a file swapped for a link since the listing gives a link to
        # the link itself, which the check below refuses; its target is never reached.
        os.link(source, dest, follow_symlinks=False)
    except OSError:
        _copy_file(source, dest, root, action, tree)
        return
    mode = os.lstat(dest).st_mode
    if not stat.S_ISREG(mode):
        os.unlink(dest)
        raise not_regular_error(root, source, mode, action=action, tree=tree)


def copy_model_file(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    action: str = "copy",
    follow_link: bool = True,
) -> None:
    """Copy the one regular file a caller names to ``dest``.

    With ``follow_link`` (the caller's own file), ``source`` may be a link to a regular file;
    without, a link is refused like anything else that is not a regular file. A FIFO,
    socket or device is an :class:`~modelpack.exceptions.IntegrityError` and is never opened
    for reading (a FIFO would block the copy forever); the message reads ``"refusing to
    {action} {folder}: {name} is a FIFO..."``.
    """
    given = Path(os.path.abspath(source))
    if not follow_link:
        mode = os.lstat(given).st_mode
        if not stat.S_ISREG(mode):
            raise not_regular_error(given.parent, given, mode, action=action, tree="its folder")
    real = Path(os.path.realpath(given))
    mode = os.stat(real).st_mode
    if not stat.S_ISREG(mode):
        raise not_regular_error(real.parent, real, mode, action=action, tree="its folder")
    _copy_file(real, Path(dest), real.parent, action, "its folder")


def regular_entries(
    root: Path, *, action: str, skip: Sequence[str] = (), tree: str = "the model directory"
) -> list[tuple[Path, bool]]:
    """Every folder and file under ``root`` (folders before their contents), refusing the
    first entry that is neither; nothing is copied before the whole tree has passed."""
    found: list[tuple[Path, bool]] = []

    def walk(here: Path) -> None:
        for entry in sorted(os.scandir(here), key=lambda e: e.name):
            if any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in skip):
                continue
            path = Path(entry.path)
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                found.append((path, True))
                walk(path)
            elif stat.S_ISREG(mode):
                found.append((path, False))
            else:
                raise not_regular_error(root, path, mode, action=action, tree=tree)

    walk(root)
    return found


def copy_model_tree(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    action: str = "copy",
    skip: Sequence[str] = (),
    merge: bool = False,
    link: bool = False,
    tree: str = "the model directory",
) -> None:
    """Copy the regular files and folders of ``source`` into ``dest``.

    The whole tree is checked before ``dest`` is created or the first file copied, so a
    refusal leaves nothing behind.

    Parameters
    ----------
    source : path
        The model directory (itself may be reached through a link; nothing inside it may be).
    dest : path
        The new directory; with ``merge=True`` it may exist, and files in it are replaced.
    action : str
        What the caller is doing, for the message: ``"refusing to {action} {source}: ..."``.
    skip : sequence of str
        Glob patterns of entry names (files or folders, at any depth) left out of the copy.
    merge : bool
        Copy into an existing ``dest``.
    link : bool
        Hard-link each regular file instead of copying it where the file system allows (the
        copy then shares the files' contents with ``source``); a copy elsewhere.
    tree : str
        What ``source`` is, for the message: ``"... to /etc/passwd (outside {tree})"``.

    Raises
    ------
    IntegrityError
        An entry is a symbolic link, a FIFO, a socket or a device; ``.path`` names it.
    """
    root = Path(os.path.realpath(source))
    out = Path(dest)
    entries = regular_entries(root, action=action, skip=skip, tree=tree)
    out.mkdir(parents=merge, exist_ok=merge)
    put = _link_file if link else _copy_file
    for path, is_dir in entries:
        target = out / path.relative_to(root)
        if is_dir:
            target.mkdir(exist_ok=merge)
        else:
            if link and merge and target.exists():
                target.unlink()  # os.link never replaces a file
            put(path, target, root, action, tree)


def read_model_file(path: str | os.PathLike[str], *, limit: int) -> bytes:
    """The bytes of one small regular file of a model, at most ``limit`` of them.

    Raises
    ------
    IntegrityError
        ``path`` is a link, a FIFO, a socket or a device (never opened for reading, so a FIFO
        cannot block and ``/dev/zero`` cannot fill memory), or is larger than ``limit``.
    FileNotFoundError
        There is no such file.
    """
    given = Path(os.path.abspath(path))
    mode = os.lstat(given).st_mode
    if not stat.S_ISREG(mode):
        raise not_regular_error(given.parent, given, mode, action="read")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with open(os.open(given, flags), "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # swapped since the check
            raise not_regular_error(given.parent, given, st.st_mode, action="read")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise IntegrityError(
            f"refusing to read {given}: it is larger than {limit} bytes, far more than such a "
            "file ever holds; the model is damaged or was made to exhaust memory",
            path=str(given),
        )
    return data
