"""Run artifacts in a folder on the local disk: copy in, list one level, copy out.

Every path a caller gives is relative to the run's artifact root, in POSIX form; one that is
absolute or climbs out with ``..`` is refused before anything touches the disk, and the
resolved target is checked once more (a symlink inside the run must not lead out of it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from modelpack._safe_copy import copy_model_file, copy_model_tree
from modelpack._storage._paths import clean_path
from modelpack._store._base import RunStore
from modelpack._store._entities import FileInfo
from modelpack.exceptions import ModelNotFoundError, StoreError

__all__ = ["LocalArtifacts", "artifact_parts"]


def artifact_parts(path: str | None, *, what: str = "artifact path") -> tuple[str, ...]:
    """``"a/b/c.txt"`` -> ``("a", "b", "c.txt")``; None or ``""`` is the run's root.

    The rule is storage's :func:`~modelpack._storage._paths.clean_path` (one rule for every
    store and backend); raises StoreError for an absolute path, a drive, a ``..`` part...
    """
    clean = clean_path(path, what=what, root="the run's artifact root", example="plots/loss.png")
    return tuple(clean.split("/")) if clean else ()


def _inside(root: Path, parts: tuple[str, ...], given: str | None) -> Path:
    target = root.joinpath(*parts)
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        raise StoreError(
            f"artifact path {given!r} leads outside the run's artifact root (a symlink?)"
        ) from None
    return target


class LocalArtifacts(RunStore):
    """The artifact half of a store whose run folders are on the local disk."""

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        source = Path(local_path)
        if source.is_dir():
            raise StoreError(f"{source} is a directory; log a directory with log_artifacts")
        if not source.is_file():
            raise FileNotFoundError(f"cannot log {source} as an artifact: no such file")
        parts = artifact_parts(artifact_path)
        folder = _inside(self.run_artifact_dir(run_id), parts, artifact_path)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / source.name)

    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None) -> None:
        source = Path(local_dir)
        if not source.is_dir():
            raise FileNotFoundError(f"cannot log {source} as artifacts: no such directory")
        parts = artifact_parts(artifact_path)
        folder = _inside(self.run_artifact_dir(run_id), parts, artifact_path)
        # regular files only (a model directory from elsewhere may hold a link to a secret)
        copy_model_tree(source, folder, action="log", merge=True)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        parts = artifact_parts(path)
        root = self.run_artifact_dir(run_id)
        folder = _inside(root, parts, path)
        if not folder.is_dir():
            return []
        prefix = "/".join(parts)
        infos = []
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            rel = f"{prefix}/{entry.name}" if prefix else entry.name
            is_dir = entry.is_dir()
            infos.append(FileInfo(rel, is_dir, None if is_dir else entry.stat().st_size))
        return infos

    def download_artifacts(self, run_id: str, path: str, dst_path: Path) -> Path:
        parts = artifact_parts(path)
        root = self.run_artifact_dir(run_id)
        source = _inside(root, parts, path)
        if not source.exists():
            listed = ", ".join(i.path for i in self.list_artifacts(run_id)) or "none"
            raise ModelNotFoundError(
                f"run {run_id} has no artifact at {path!r}; its artifacts: {listed}",
                uri=f"runs:/{run_id}/{'/'.join(parts)}",
            )
        dst = Path(dst_path)
        dst.mkdir(parents=True, exist_ok=True)
        # a path ending in "/" (or the root) copies the folder's contents into dst itself
        name = str(path or "").replace("\\", "/").split("/")[-1]
        target = dst / name if name not in ("", ".") else dst
        # the run's folder holds regular files only (copies in refuse anything else): a link,
        # FIFO or device found there now was planted, and is refused, never followed
        if source.is_dir() and not source.is_symlink():
            copy_model_tree(source, target, action="download", merge=True, tree="the run")
        else:
            copy_model_file(source, target, action="download", follow_link=False)
        return target.absolute()
