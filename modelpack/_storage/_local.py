"""Artifact storage in a local folder (or a mounted network file system).

Every file is written to a temporary name beside its target and renamed into place, so a
reader sees the old file or the new one, never half of one. A directory uploaded to a path
that does not exist yet is copied into a temporary folder and renamed as a whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlparse

from modelpack._safe_copy import copy_model_tree, not_regular_error
from modelpack._storage._base import (
    TMP_PREFIX,
    ArtifactStorage,
    FileInfo,
    Readable,
    clean_path,
    join,
)
from modelpack.exceptions import IntegrityError, StoreError

__all__ = ["LocalStorage"]

_CHUNK = 1 << 20


def _local_root(root_uri: str) -> Path:
    if root_uri.startswith("file:"):
        parsed = urlparse(root_uri)
        if parsed.netloc not in ("", "localhost"):
            raise StoreError(f"file URIs must be local, got host {parsed.netloc!r} in {root_uri}")
        return Path(unquote(parsed.path) or ".")
    return Path(root_uri).expanduser()


def _tmp_beside(target: Path) -> Path:
    return target.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{target.name}")


def _replace(target: Path, fill: Callable[[Path], object]) -> None:
    """Write ``target`` through ``fill(tmp)`` on a temporary name, then rename it into place."""
    tmp = _tmp_beside(target)
    try:
        fill(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class LocalStorage(ArtifactStorage):
    """Files in a local folder; ``root_uri`` is a path or a ``file://`` URI."""

    def __init__(self, root_uri: str) -> None:
        super().__init__(root_uri)
        self.root = _local_root(root_uri).absolute()

    def _path(self, path: str) -> Path:
        rel = clean_path(path)
        return self.root.joinpath(*rel.split("/")) if rel else self.root

    def _file_target(self, dest_path: str) -> Path:
        target = self._path(dest_path)
        if target == self.root:
            raise StoreError("a file needs a path inside the storage root, got the root itself")
        if target.is_dir():
            raise StoreError(
                f"{clean_path(dest_path)!r} is a folder in the storage, not a file: give the "
                "path of a file inside it, or another name"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _open_regular(self, path: str) -> IO[bytes]:
        """Open the regular file at ``path`` for reading, refusing (unopened) a link, FIFO,
        socket or device, and a path that leaves the root through a linked folder: files in
        the storage are only ever written as regular files, so anything else was planted
        there (a link could lead out of the root, a FIFO hang the reader, ``/dev/zero`` fill
        its memory)."""
        source = self._path(path)
        try:
            mode = os.lstat(source).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise self._missing(path) from None
        if stat.S_ISDIR(mode):
            raise self._missing(path)
        if not stat.S_ISREG(mode):
            raise not_regular_error(self.root, source, mode, action="read from", tree="it")
        if not Path(os.path.realpath(source)).is_relative_to(os.path.realpath(self.root)):
            raise IntegrityError(
                f"refusing to read {source}: a linked folder on its path leads out of the "
                f"storage root {self.root}; replace the link with a folder",
                path=str(source),
            )
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        f = open(os.open(source, flags), "rb")  # noqa: SIM115 - returned to the caller
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped since the check
            f.close()
            raise not_regular_error(self.root, source, mode, action="read from", tree="it")
        return f

    def put_file(self, local: str | os.PathLike[str], dest_path: str) -> None:
        source = Path(local)
        if not source.is_file():
            raise FileNotFoundError(f"cannot upload {source}: no such file")
        _replace(self._file_target(dest_path), lambda tmp: shutil.copyfile(source, tmp))

    def put_stream(
        self, fileobj: Readable, dest_path: str, *, size_hint: int | None = None
    ) -> None:
        # a temporary file beside the target, renamed into place once complete (and removed
        # if the body fails half-way), so the target is the old file or the whole new one
        def fill(tmp: Path) -> None:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(fileobj, out, _CHUNK)

        _replace(self._file_target(dest_path), fill)

    def put_dir(self, local_dir: str | os.PathLike[str], dest_prefix: str = "") -> None:
        target = self._path(dest_prefix)
        source = Path(local_dir)
        if target.exists() or not source.is_dir() or target == self.root:
            super().put_dir(local_dir, dest_prefix)  # merge, file by file, MLmodel last
            return
        # A new directory: copy it whole under a temporary name, then one rename publishes it.
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_beside(target)
        try:
            copy_model_tree(source, tmp, action="upload")
            os.rename(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not target.exists():
                raise
            super().put_dir(local_dir, dest_prefix)  # someone else created it meanwhile

    def get_file(self, path: str, local: str | os.PathLike[str]) -> None:
        with self._open_regular(path) as source:
            target = Path(local)
            target.parent.mkdir(parents=True, exist_ok=True)  # as the other backends do

            def fill(tmp: Path) -> None:
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)

            _replace(target, fill)

    def list(self, prefix: str = "") -> list[FileInfo]:
        rel = clean_path(prefix)
        folder = self._path(rel)
        if not folder.is_dir():
            return []
        infos = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(TMP_PREFIX):
                continue
            is_dir = entry.is_dir()
            size = None if is_dir else entry.stat().st_size
            infos.append(FileInfo(join(rel, entry.name), is_dir, size))
        return infos

    def walk(self, prefix: str = "") -> Iterator[FileInfo]:
        rel = clean_path(prefix)
        start = self._path(rel)
        if start.is_file():
            yield FileInfo(rel, False, start.stat().st_size)
            return
        for root, dirs, names in os.walk(start):
            dirs[:] = sorted(d for d in dirs if not d.startswith(TMP_PREFIX))
            for name in sorted(names):
                if name.startswith(TMP_PREFIX):
                    continue
                path = Path(root, name)
                yield FileInfo(path.relative_to(self.root).as_posix(), False, path.stat().st_size)

    def exists(self, path: str) -> bool:
        target = self._path(path)
        if target.is_file():
            return True
        return target.is_dir() and any(True for _ in self.walk(path))

    def delete_prefix(self, prefix: str) -> None:
        target = self._path(prefix)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()

    def open_read(self, path: str) -> IO[bytes]:
        return self._open_regular(path)
