"""Run artifacts for the UI: listing, preview and download.

Where a run's files are read from (:class:`ArtifactReader`):

- in a UI served by ``modelpack server``, the server's artifacts destination first, at the
  run's folder there (``<experiment>/<run>/artifacts``, where its proxy puts what clients log
  through ``/api/2.0/mlflow-artifacts``), as the server's own listing does;
- a run whose recorded artifact URI is remote (``s3://...``) from that storage;
- otherwise the store itself (its local artifact folder, or a team server's proxy for an HTTP
  store).

Paths are checked by the store's own ``artifact_parts`` (no absolute paths, no ``..``) before
any storage sees them; a local folder's file is also resolved and refused when a link leads it
out of the run's artifact root. The store's ``download_artifacts`` applies the same rules.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from modelpack._storage import (
    ArtifactStorage,
    LocalStorage,
    clean_path,
    is_remote_scheme,
    join,
    scheme_of,
    storage_for,
)
from modelpack._store import FileInfo, Store, artifact_parts
from modelpack.exceptions import ModelNotFoundError, StoreError

__all__ = ["ArtifactFile", "ArtifactReader", "fetch_artifact", "list_artifacts", "preview_kind"]

#: the most bytes of a text file the preview shows
PREVIEW_BYTES = 512 * 1024
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".log",
        ".md",
        ".csv",
        ".tsv",
        ".yaml",
        ".yml",
        ".py",
        ".cfg",
        ".ini",
        ".toml",
        ".sh",
        ".rst",
        ".html",
        ".xml",
        ".svg",
    ]
)
_TEXT_NAMES = frozenset({"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml"})


def preview_kind(path: str) -> str:
    """``"image"``, ``"json"``, ``"text"`` or ``"none"`` for an artifact path."""
    pure = PurePosixPath(path)
    suffix = pure.suffix.lower()
    if suffix in _IMAGE_TYPES:
        return "image"
    if suffix == ".json":
        return "json"
    if suffix in _TEXT_SUFFIXES or pure.name in _TEXT_NAMES or not suffix:
        return "text"
    return "none"


_MLFLOW_ARTIFACTS = "mlflow-artifacts"


def _run_folder(experiment_id: str, run_id: str) -> str:
    """Where the team server keeps a run's files under its artifacts destination."""
    from modelpack.server._wire import run_artifact_path  # the server's layout, one owner

    return run_artifact_path(experiment_id, run_id)


@dataclass(frozen=True)
class _InStorage:
    """A run's artifacts under ``root`` of a storage (the server's destination, a bucket)."""

    storage: ArtifactStorage
    root: str

    def list(self, rel: str) -> list[FileInfo]:
        found = self.storage.list(join(self.root, rel))
        cut = len(self.root)
        return [
            FileInfo(i.path[cut:].lstrip("/") if cut else i.path, i.is_dir, i.file_size)
            for i in found
        ]

    def fetch(self, rel: str, folder: Path) -> Path:
        full = join(self.root, rel)
        if isinstance(self.storage, LocalStorage):
            _check_inside(self.storage.root, self.root, rel)
        if self.storage.list(full):
            raise IsADirectoryError(f"{rel!r} is a folder: open it in the browser")
        target = folder / PurePosixPath(rel).name
        try:
            self.storage.get_file(full, target)
        except ModelNotFoundError:
            raise ModelNotFoundError(
                f"the run has no artifact at {rel!r}", uri=self.storage.uri_for(full)
            ) from None
        return target


def _check_inside(storage_root: Path, root: str, rel: str) -> None:
    """Refuse a local file that a link leads out of the run's artifact folder."""
    base = storage_root.joinpath(*root.split("/")) if root else storage_root
    target = base.joinpath(*rel.split("/"))
    try:
        target.resolve().relative_to(base.resolve())
    except ValueError:
        raise StoreError(
            f"artifact path {rel!r} leads outside the run's artifact root (a symlink?)"
        ) from None


class ArtifactReader:
    """Decides where a run's artifacts are read from (see the module docstring).

    Parameters
    ----------
    destination : str or None
        The artifacts destination of the team server this UI is served by; None for a UI
        of its own (``modelpack ui``).
    """

    def __init__(self, destination: str | None = None) -> None:
        self.destination = destination
        self._storages: dict[str, ArtifactStorage] = {}
        self._lock = threading.Lock()

    def _storage(self, uri: str) -> ArtifactStorage:
        """One storage object per root URI (an S3 client is slow to make)."""
        with self._lock:
            found = self._storages.get(uri)
            if found is None:
                found = self._storages[uri] = storage_for(uri)
            return found

    def source(self, store: Store, run_id: str) -> _InStorage | None:
        """The storage holding the run's files, or None when the store reads them itself."""
        info = store.get_run(run_id).info
        uri = info.artifact_uri or ""
        scheme = scheme_of(uri)
        if self.destination is not None:
            destination = self._storage(self.destination)
            if scheme == _MLFLOW_ARTIFACTS:
                return _InStorage(destination, clean_path(urlparse(uri).path.lstrip("/")))
            folder = _run_folder(info.experiment_id, run_id)
            if destination.exists(folder):
                return _InStorage(destination, folder)
        if scheme == _MLFLOW_ARTIFACTS:
            # a server's proxy path, with no server destination here to resolve it against:
            # the store reads it (whether a REST store module registered the scheme or not)
            return None
        if is_remote_scheme(scheme):
            return _InStorage(self._storage(uri), "")
        return None

    def location(self, store: Store, run_id: str) -> str | None:
        """The URI of the run's files when they are read from a storage (else None: the
        store's own artifact URI says where they are)."""
        source = self.source(store, run_id)
        return None if source is None else source.storage.uri_for(source.root)


def list_artifacts(
    store: Store, run_id: str, path: str | None, *, reader: ArtifactReader | None = None
) -> dict[str, Any]:
    parts = artifact_parts(path)
    rel = "/".join(parts)
    source = (reader or ArtifactReader()).source(store, run_id)
    entries = store.list_artifacts(run_id, rel or None) if source is None else source.list(rel)
    return {
        "path": rel,
        "files": [
            {
                "path": e.path,
                "name": PurePosixPath(e.path).name,
                "is_dir": e.is_dir,
                "size": e.file_size,
                "preview": "none" if e.is_dir else preview_kind(e.path),
            }
            for e in entries
        ],
    }


@dataclass
class ArtifactFile:
    """A local copy of one artifact file; ``cleanup`` removes it once it has been sent."""

    path: Path
    name: str
    media_type: str
    folder: Path

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def fetch_artifact(
    store: Store,
    run_id: str,
    path: str,
    *,
    preview: bool,
    reader: ArtifactReader | None = None,
) -> ArtifactFile:
    """Copy one artifact file out of the run's storage into a temporary folder.

    For a preview, images keep their image type and everything else is sent as plain text
    (never HTML or SVG, which a browser would run); a download is always an opaque attachment.
    """
    parts = artifact_parts(path)
    if not parts:
        raise IsADirectoryError("give the path of a file, not the run's artifact root")
    rel = "/".join(parts)
    source = (reader or ArtifactReader()).source(store, run_id)
    folder = Path(tempfile.mkdtemp(prefix="modelpack-ui-"))
    try:
        if source is None:
            local = store.download_artifacts(run_id, rel, folder)
        else:
            local = source.fetch(rel, folder)
        if local.is_dir():
            raise IsADirectoryError(f"{rel!r} is a folder: open it in the browser")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = parts[-1]
    media = "application/octet-stream"
    if preview:
        kind = preview_kind(name)
        if kind == "image":
            media = _IMAGE_TYPES[PurePosixPath(name).suffix.lower()]
        elif kind in ("json", "text"):
            media = "text/plain; charset=utf-8"
    return ArtifactFile(local, name, media, folder)
