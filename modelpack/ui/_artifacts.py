"""Run artifacts for the UI: listing, preview and download, always through the store.

Paths are checked by the store's own ``artifact_parts`` (no absolute paths, no ``..``) and the
file is copied out with ``download_artifacts``, which refuses anything resolving outside the
run's artifact root; the UI never joins a user's path onto a folder itself.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from modelpack._store import Store, artifact_parts

__all__ = ["ArtifactFile", "fetch_artifact", "list_artifacts", "preview_kind"]

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


def list_artifacts(store: Store, run_id: str, path: str | None) -> dict[str, Any]:
    parts = artifact_parts(path)
    entries = store.list_artifacts(run_id, "/".join(parts) or None)
    return {
        "path": "/".join(parts),
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


def fetch_artifact(store: Store, run_id: str, path: str, *, preview: bool) -> ArtifactFile:
    """Copy one artifact file out of the store into a temporary folder.

    For a preview, images keep their image type and everything else is sent as plain text
    (never HTML or SVG, which a browser would run); a download is always an opaque attachment.
    """
    parts = artifact_parts(path)
    if not parts:
        raise IsADirectoryError("give the path of a file, not the run's artifact root")
    folder = Path(tempfile.mkdtemp(prefix="modelpack-ui-"))
    try:
        local = store.download_artifacts(run_id, "/".join(parts), folder)
        if local.is_dir():
            raise IsADirectoryError(f"{'/'.join(parts)!r} is a folder: open it in the browser")
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
