"""SHA-256 digests of every file in a model directory, and their verification."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from modelpack._manifest import MLMODEL_FILE, Manifest
from modelpack.exceptions import IntegrityError

__all__ = ["Problem", "compute_digests", "directory_size", "file_digest", "find_problems", "verify"]

_CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """Return ``"sha256:<hex>"`` for one file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _walk(model_dir: Path) -> list[str]:
    files: list[str] = []
    for root, dirs, names in os.walk(model_dir):
        dirs.sort()
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), model_dir).replace(os.sep, "/")
            if rel != MLMODEL_FILE and "__pycache__" not in rel.split("/"):
                files.append(rel)
    return files


def compute_digests(model_dir: str | Path) -> dict[str, str]:
    """Digest every file under ``model_dir`` except the manifest itself."""
    root = Path(model_dir)
    return {rel: file_digest(root / rel) for rel in _walk(root)}


def directory_size(model_dir: str | Path) -> int:
    root = Path(model_dir)
    return sum((root / rel).stat().st_size for rel in _walk(root)) + (
        (root / MLMODEL_FILE).stat().st_size if (root / MLMODEL_FILE).exists() else 0
    )


@dataclass(frozen=True)
class Problem:
    """One integrity problem: ``kind`` is ``modified``, ``missing`` or ``unlisted``."""

    kind: str
    path: str

    def __str__(self) -> str:
        what = {
            "modified": "does not match its recorded SHA-256 digest (modified or corrupted)",
            "missing": "is listed in MLmodel but missing",
            "unlisted": "is present but not listed in MLmodel (added after saving)",
        }[self.kind]
        return f"{self.path}: {what}"


def find_problems(model_dir: str | Path, manifest: Manifest) -> list[Problem]:
    """Compare the files on disk with the digests in the manifest."""
    root = Path(model_dir)
    problems: list[Problem] = []
    present = set(_walk(root))
    for rel, expected in sorted(manifest.files.items()):
        if rel not in present:
            problems.append(Problem("missing", rel))
        elif file_digest(root / rel) != expected:
            problems.append(Problem("modified", rel))
    problems.extend(Problem("unlisted", rel) for rel in sorted(present - set(manifest.files)))
    return problems


def verify(model_dir: str | Path, manifest: Manifest, *, strict: bool = False) -> None:
    """Raise :class:`IntegrityError` if a recorded file is modified or missing.

    Unlisted files are tolerated unless ``strict`` (a store or a user may add files beside a
    model; they are never loaded by modelpack, so they cannot change what it does).
    """
    if not manifest.written_by_modelpack:
        return  # MLflow-written directories carry no digests
    problems = [p for p in find_problems(model_dir, manifest) if strict or p.kind != "unlisted"]
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise IntegrityError(
            f"integrity check failed for model at {model_dir}: {first}{more}. The model was "
            "changed after it was saved; restore it from its source or save it again. Run "
            "'modelpack verify' for the full list.",
            path=first.path,
        )
