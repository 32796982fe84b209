"""Artifact storage on any file system fsspec knows: ``gs://`` (gcsfs), ``abfs://`` (adlfs), ...

fsspec and the scheme's own package are optional; a missing one is a
:class:`~modelpack.exceptions.MissingDependencyError` that names the package to install.
Credentials are the scheme package's own (``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_CONNECTION_STRING``, ...). Like S3, these stores have no atomic rename of a
directory, so a model upload publishes itself by writing ``MLmodel`` last.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from modelpack._optional import require
from modelpack._storage._base import TMP_PREFIX, ArtifactStorage, FileInfo, Readable, clean_path
from modelpack.exceptions import MissingDependencyError, StoreError

__all__ = ["PACKAGES", "FsspecStorage"]

#: scheme -> the package that implements it for fsspec (named when it is missing)
PACKAGES: dict[str, str] = {
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "az": "adlfs",
}

_CHUNK = 1 << 20


def _filesystem(root_uri: str) -> tuple[Any, str]:
    scheme = root_uri.partition("://")[0]
    package = PACKAGES.get(scheme)
    purpose = f"{scheme}:// artifact storage"
    if package is not None:
        require(package, None, purpose=purpose)  # before fsspec: it names what to install
    core = require("fsspec.core", None, purpose=purpose)
    try:
        fs, path = core.url_to_fs(root_uri)
    except ImportError as e:  # fsspec's message names the package ("Install gcsfs to ...")
        raise MissingDependencyError(f"{purpose} needs a package that is missing: {e}") from e
    except ValueError as e:
        raise StoreError(f"fsspec does not know the scheme of {root_uri!r}: {e}") from e
    return fs, str(path).rstrip("/")


class FsspecStorage(ArtifactStorage):
    """Files under a root URI of a scheme fsspec implements."""

    def __init__(self, root_uri: str) -> None:
        super().__init__(root_uri)
        self.fs, self._root = _filesystem(root_uri)

    def _full(self, path: str) -> str:
        rel = clean_path(path)
        return f"{self._root}/{rel}" if rel else self._root

    def _rel(self, full: str) -> str:
        full = full.rstrip("/")
        root = self._root.rstrip("/")
        if not root:
            return full.lstrip("/")
        return full[len(root) + 1 :] if full.startswith(root + "/") else ""

    def put_file(self, local: str | os.PathLike[str], dest_path: str) -> None:
        source = Path(local)
        if not source.is_file():
            raise FileNotFoundError(f"cannot upload {source}: no such file")
        target = self._full(dest_path)
        self.fs.makedirs(target.rpartition("/")[0] or self._root, exist_ok=True)
        self.fs.put_file(str(source), target)

    def put_stream(
        self, fileobj: Readable, dest_path: str, *, size_hint: int | None = None
    ) -> None:
        target = self._full(dest_path)
        self.fs.makedirs(target.rpartition("/")[0] or self._root, exist_ok=True)
        # Without autocommit the object appears only on commit(), and discard() drops what
        # was written (an object store aborts its multipart upload): a body that fails
        # half-way leaves the old file, if any. (fsspec's memory file system, for tests,
        # ignores autocommit and shows the file as soon as it is opened.)
        out = self.fs.open(target, "wb", autocommit=False)
        try:
            shutil.copyfileobj(fileobj, out, _CHUNK)
            out.close()
            out.commit()
        except BaseException:
            out.discard()
            raise

    def get_file(self, path: str, local: str | os.PathLike[str]) -> None:
        source = self._full(path)
        if not self.fs.isfile(source):
            raise self._missing(path)
        dest = Path(local)
        tmp = dest.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{dest.name}")
        try:
            self.fs.get_file(source, str(tmp))
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[FileInfo]:
        folder = self._full(prefix)
        if not self.fs.isdir(folder):
            return []
        infos = []
        for entry in self.fs.ls(folder, detail=True):
            rel = self._rel(entry["name"])
            if not rel or rel == clean_path(prefix):
                continue
            is_dir = entry.get("type") == "directory"
            infos.append(FileInfo(rel, is_dir, None if is_dir else int(entry.get("size") or 0)))
        return sorted(infos, key=lambda i: i.path)

    def walk(self, prefix: str = "") -> Iterator[FileInfo]:
        start = self._full(prefix)
        if self.fs.isfile(start):
            yield FileInfo(clean_path(prefix), False, int(self.fs.size(start)))
            return
        if not self.fs.isdir(start):
            return
        found = self.fs.find(start, detail=True)
        for name in sorted(found):
            yield FileInfo(self._rel(name), False, int(found[name].get("size") or 0))

    def exists(self, path: str) -> bool:
        target = self._full(path)
        return bool(self.fs.isfile(target)) or any(True for _ in self.walk(path))

    def delete_prefix(self, prefix: str) -> None:
        target = self._full(prefix)
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    def open_read(self, path: str) -> IO[bytes]:
        source = self._full(path)
        if not self.fs.isfile(source):
            raise self._missing(path)
        return cast("IO[bytes]", self.fs.open(source, "rb"))
