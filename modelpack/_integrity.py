"""SHA-256 digests of every file in a model directory, and their verification.

What a digest proves: the file is the one the manifest was written with. What it cannot prove:
that the manifest itself is genuine (whoever can write the directory can rewrite both); the
registry's recorded manifest digest and signatures (``_signing``) anchor that elsewhere.

For a directory modelpack wrote, every file that loading opens must be listed under
``modelpack.files`` and match (:func:`check_references`); for every directory, paths named in
the manifest stay inside it, and only regular files are opened (never a FIFO or a device).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modelpack._manifest import MLMODEL_FILE, Manifest
from modelpack.exceptions import IntegrityError

__all__ = [
    "SIGNATURE_FILE",
    "Problem",
    "check_references",
    "compute_digests",
    "directory_size",
    "file_digest",
    "find_problems",
    "verify",
]

_CHUNK = 1 << 20
#: the detached signature of MLmodel written by ``modelpack sign``; never listed in the digests
SIGNATURE_FILE = "MLmodel.sig"
_NOT_DIGESTED = (MLMODEL_FILE, SIGNATURE_FILE)


def file_digest(path: str | Path) -> str:
    """Return ``"sha256:<hex>"`` for one regular file, read in 1 MiB chunks.

    Opened non-blocking and checked to be a regular file first, so a FIFO or a device named
    in a manifest is an :class:`IntegrityError`, never a hang.
    """
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        if not os.path.lexists(path) or stat.S_ISREG(os.stat(path).st_mode):
            raise
        raise _special(str(path)) from e
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise _special(str(path))
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _special(path: str) -> IntegrityError:
    return IntegrityError(
        f"{path} is not a regular file (a FIFO, device or socket); a model holds only plain "
        "files, so modelpack will not open it",
        path=path,
    )


def _walk(model_dir: Path) -> list[str]:
    files: list[str] = []
    for root, dirs, names in os.walk(model_dir):
        dirs.sort()
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), model_dir).replace(os.sep, "/")
            if rel not in _NOT_DIGESTED and "__pycache__" not in rel.split("/"):
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


_WHAT = {
    "modified": "does not match its recorded SHA-256 digest (modified or corrupted)",
    "missing": "is listed in MLmodel but missing",
    "unlisted": "is present but not listed in MLmodel (added after saving)",
    "outside": "points outside the model directory (an absolute path or '..')",
    "link": "is a symbolic link; a model modelpack wrote holds none, so it will not follow it",
    "special": "is not a regular file (a FIFO, device or socket), so it will not be opened",
    "uncovered": "is opened when loading but has no digest in MLmodel (added or unlisted "
    "after saving)",
    "undigested": "has modelpack's marks but no file digests (its modelpack block or files "
    "list was removed or emptied)",
}


@dataclass(frozen=True)
class Problem:
    """One integrity problem. ``kind`` is one of ``modified``, ``missing``, ``unlisted``,
    ``outside``, ``link``, ``special``, ``uncovered`` or ``undigested``."""

    kind: str
    path: str

    def __str__(self) -> str:
        return f"{self.path}: {_WHAT[self.kind]}"


def _outside(rel: str) -> bool:
    pure = PurePosixPath(rel.replace("\\", "/"))
    return not rel or pure.is_absolute() or ".." in pure.parts or os.path.isabs(rel)


def _kind_on_disk(root: Path, rel: str, *, links: bool) -> str | None:
    """The problem with ``rel`` as a file or folder to open, or None (also when absent).

    Each component is looked at without following links; a link is a problem when ``links``
    is False, else one that leads out of ``root`` is.
    """
    current = root
    for part in PurePosixPath(rel).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return None
        except OSError:
            return "special"
        if stat.S_ISLNK(mode):
            if not links:
                return "link"
            target = current.resolve()
            if not target.is_relative_to(root.resolve()):
                return "outside"
            try:
                mode = os.stat(target).st_mode
            except OSError:
                return None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "special"
    return None


def find_problems(model_dir: str | Path, manifest: Manifest) -> list[Problem]:
    """Compare the files on disk with the digests in the manifest."""
    root = Path(model_dir)
    problems: list[Problem] = []
    if manifest.claims_modelpack and not manifest.files:
        problems.append(Problem("undigested", MLMODEL_FILE))
    present = set(_walk(root))
    for rel, expected in sorted(manifest.files.items()):
        if _outside(rel):
            problems.append(Problem("outside", rel))
        elif kind := _kind_on_disk(root, rel, links=False):
            problems.append(Problem(kind, rel))
        elif rel not in present:
            problems.append(Problem("missing", rel))
        elif file_digest(root / rel) != expected:
            problems.append(Problem("modified", rel))
    problems.extend(Problem("unlisted", rel) for rel in sorted(present - set(manifest.files)))
    return problems


def check_references(
    model_dir: str | Path, manifest: Manifest, refs: Iterable[str]
) -> list[Problem]:
    """Problems with the files and folders loading will open (``refs``, relative paths).

    Every path must stay in the directory and lead to regular files. For a directory modelpack
    wrote, each file (each file under a folder) must also be listed with a digest, and no
    link is followed; the digests themselves are checked by :func:`verify`.
    """
    root = Path(model_dir)
    covered = manifest.claims_modelpack
    problems: list[Problem] = []
    for rel in dict.fromkeys(refs):
        if _outside(rel):
            problems.append(Problem("outside", rel))
            continue
        if kind := _kind_on_disk(root, rel, links=not covered):
            problems.append(Problem(kind, rel))
            continue
        target = root / rel
        if covered and target.is_dir():
            for sub, dirs, names in os.walk(target):
                for name in sorted(names + [d for d in dirs if os.path.islink(Path(sub, d))]):
                    inner = Path(sub, name).relative_to(root).as_posix()
                    if "__pycache__" in inner.split("/"):
                        continue
                    kind = _kind_on_disk(root, inner, links=False)
                    if kind or inner not in manifest.files:
                        problems.append(Problem(kind or "uncovered", inner))
        elif covered and rel not in manifest.files:
            problems.append(Problem("uncovered", rel))
    return problems


def _raise_first(model_dir: str | Path, problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise IntegrityError(
            f"integrity check failed for model at {model_dir}: {first}{more}. The model was "
            "changed after it was saved; restore it from its source or save it again. Run "
            "'modelpack verify' for the full list.",
            path=first.path,
        )


def verify(
    model_dir: str | Path,
    manifest: Manifest,
    *,
    strict: bool = False,
    refs: Iterable[str] = (),
) -> None:
    """Raise :class:`IntegrityError` if a recorded file is modified, missing or unsafe, or a
    file in ``refs`` (what loading opens) is unsafe or, for modelpack's format, not covered.

    Unlisted files are tolerated unless ``strict`` (a store or a user may add files beside a
    model; modelpack never opens one, since everything it opens must be listed).
    """
    problems = []
    if manifest.claims_modelpack:
        problems = [p for p in find_problems(model_dir, manifest) if strict or p.kind != "unlisted"]
    _raise_first(model_dir, problems + check_references(model_dir, manifest, refs))
