"""The artifact storage interface: files under one root URI, addressed by relative POSIX paths.

A backend implements a few primitives (one file in, one file out, a streamed write and a
streamed read, a one-level listing, a recursive walk, a delete); uploading and downloading
whole directories, and the rule that makes a model directory visible only once complete, are
written here once.
"""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from modelpack._manifest import MLMODEL_FILE
from modelpack._safe_copy import regular_entries
from modelpack._storage._paths import clean_path
from modelpack.exceptions import ModelNotFoundError

__all__ = [
    "TMP_PREFIX",
    "ArtifactStorage",
    "FileInfo",
    "Readable",
    "clean_path",
    "join",
    "local_files",
]

#: temporary files and folders of an unfinished write start with this; listings leave them out
TMP_PREFIX = ".modelpack-tmp-"


class Readable(Protocol):
    """What :meth:`ArtifactStorage.put_stream` reads: a binary file, or anything with its
    ``read`` (a request body arriving over the network)."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class FileInfo:
    """One entry of a listing: ``path`` relative to the storage root, in POSIX form.

    The fields are those of MLflow's ``FileInfo`` (``file_size`` is None for a directory).
    """

    path: str
    is_dir: bool
    file_size: int | None


def join(*parts: str) -> str:
    """Join storage paths, skipping empty ones (``join("", "a")`` is ``"a"``)."""
    return posixpath.join(*[p for p in parts if p]) if any(parts) else ""


def local_files(local_dir: Path) -> list[tuple[Path, str]]:
    """Every file under ``local_dir`` with its relative POSIX path, ``MLmodel`` at the top last.

    Putting the top ``MLmodel`` last is the completion marker of a model upload: a reader
    that finds it finds every other file too (see :meth:`ArtifactStorage.put_dir`). A link,
    FIFO or device in the folder is an IntegrityError naming it: an upload never follows a
    link out of the folder.
    """
    root = Path(local_dir)
    found = [
        (path, path.relative_to(root).as_posix())
        for path, is_dir in regular_entries(root, action="upload")
        if not is_dir
    ]
    found.sort(key=lambda item: item[1] == MLMODEL_FILE)  # stable: the rest keep their order
    return found


class ArtifactStorage(ABC):
    """Files under one root URI (a folder, ``s3://bucket/prefix``, ``gs://...``).

    Every path argument is relative to the root, in POSIX form (``"model/MLmodel"``); ``""``
    is the root itself. Reading a path that does not exist raises
    :class:`~modelpack.exceptions.ModelNotFoundError`; a path with ``..`` raises
    :class:`~modelpack.exceptions.StoreError`, as does a storage that cannot be reached (the
    message names the endpoint and bucket).

    Parameters
    ----------
    root_uri : str
        The root: a local path or ``file://`` URI, ``s3://bucket/prefix``, or another scheme
        that fsspec knows. :func:`~modelpack._storage.storage_for` picks the class.
    """

    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri.rstrip("/") or root_uri

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root_uri!r})"

    def uri_for(self, path: str = "") -> str:
        """The full URI of ``path``: ``s3://bucket/prefix/<path>``."""
        rel = clean_path(path)
        return f"{self.root_uri}/{rel}" if rel else self.root_uri

    # ------------------------------------------------------------------ primitives
    @abstractmethod
    def put_file(self, local: str | os.PathLike[str], dest_path: str) -> None:
        """Upload one local file to ``dest_path`` (a file path, replacing what is there)."""

    @abstractmethod
    def put_stream(
        self, fileobj: Readable, dest_path: str, *, size_hint: int | None = None
    ) -> None:
        """Upload what ``fileobj.read(n)`` yields, until it returns ``b""``, to ``dest_path``.

        The body is read as it comes (a proxied upload feeds it while it is still arriving)
        and memory stays bounded whatever its size. All or nothing: if ``fileobj.read``
        raises, or the storage fails, nothing is left at ``dest_path`` (a file already there
        is unchanged) and the error propagates. ``size_hint`` is the expected size in bytes
        when known; a backend may use it to pick part sizes, never to trust the length.
        """

    @abstractmethod
    def get_file(self, path: str, local: str | os.PathLike[str]) -> None:
        """Download one file to ``local``, streamed; ``local`` appears only once complete."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[FileInfo]:
        """The entries directly under ``prefix`` (one level), sorted by path; [] if none."""

    @abstractmethod
    def walk(self, prefix: str = "") -> Iterator[FileInfo]:
        """Every file at any depth under ``prefix`` (or ``prefix`` itself if it is a file)."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """True if ``path`` is a file, or a directory holding at least one file."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete ``prefix`` and everything under it (nothing to delete is not an error)."""

    @abstractmethod
    def open_read(self, path: str) -> IO[bytes]:
        """A binary stream of one file, read in chunks as the caller reads (use ``with``)."""

    # ------------------------------------------------------------------ built on them
    def put_files(self, files: Sequence[tuple[Path, str]]) -> None:
        """Upload ``(local file, dest path)`` pairs in order; backends may run them at once."""
        for local, dest in files:
            self.put_file(local, dest)

    def get_files(self, files: Sequence[tuple[str, Path]]) -> None:
        """Download ``(path, local file)`` pairs; backends may run them at once."""
        for path, local in files:
            local.parent.mkdir(parents=True, exist_ok=True)
            self.get_file(path, local)

    def put_dir(self, local_dir: str | os.PathLike[str], dest_prefix: str = "") -> None:
        """Upload every file under ``local_dir`` to ``dest_prefix``, merging with what is there.

        A model directory becomes visible only once complete: its ``MLmodel`` (the file that
        makes a directory a model) is written after every other file has been, and an
        ``MLmodel`` already at ``dest_prefix`` is deleted before the first one is, so a
        reader never takes a half-written or half-replaced directory for a model. An upload
        that fails or is killed leaves files without ``MLmodel``: "no model" to every reader.
        """
        source = Path(local_dir)
        if not source.is_dir():
            raise FileNotFoundError(f"cannot upload {source}: no such directory")
        prefix = clean_path(dest_prefix)
        files = [(local, join(prefix, rel)) for local, rel in local_files(source)]
        marker = join(prefix, MLMODEL_FILE)
        is_model = bool(files) and files[-1][1] == marker
        if is_model and self.exists(marker):
            self.delete_prefix(marker)
        if is_model:
            self.put_files(files[:-1])
            self.put_file(*files[-1])
        else:
            self.put_files(files)

    def get_dir(self, prefix: str, local_dir: str | os.PathLike[str]) -> Path:
        """Download every file under ``prefix`` into ``local_dir`` (created); returns it."""
        root = clean_path(prefix)
        target = Path(local_dir)
        pairs = []
        for info in self.walk(root):
            rel = info.path[len(root) :].lstrip("/") if root else info.path
            if not rel:  # prefix names a file
                rel = posixpath.basename(info.path)
            pairs.append((info.path, target.joinpath(*rel.split("/"))))
        if not pairs:
            raise ModelNotFoundError(
                f"nothing to download at {self.uri_for(root)}: no such file or directory",
                uri=self.uri_for(root),
            )
        target.mkdir(parents=True, exist_ok=True)
        self.get_files(pairs)
        return target

    def _missing(self, path: str) -> ModelNotFoundError:
        uri = self.uri_for(path)
        return ModelNotFoundError(f"no file at {uri}", uri=uri)
