"""What a run records about where it ran: the source file, the git commit and the user.

The tags carry MLflow's names (``mlflow.source.name``, ``mlflow.user``, ...), so runs read the
same in either tool; stores written before version 2 of the schema are renamed on opening.

The git commit is read straight from ``.git`` (HEAD, loose refs, packed-refs, worktree
``gitdir:`` files) instead of running ``git``: it costs a few file reads, works where git is
not installed, and never spawns a process inside a training script.
"""

from __future__ import annotations

import getpass
import os
import random
import sys
from pathlib import Path

__all__ = [
    "SOURCE_TAGS",
    "TAG_GIT_COMMIT",
    "TAG_NOTE",
    "TAG_PARENT",
    "TAG_RUN_NAME",
    "TAG_SOURCE",
    "TAG_SOURCE_TYPE",
    "TAG_USER",
    "git_commit",
    "random_run_name",
    "run_context_tags",
    "source_file",
    "user_name",
]

TAG_SOURCE = "mlflow.source.name"
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_USER = "mlflow.user"
TAG_PARENT = "mlflow.parentRunId"
TAG_RUN_NAME = "mlflow.runName"
#: a run's description
TAG_NOTE = "mlflow.note.content"
SOURCE_TAGS = (TAG_SOURCE, TAG_SOURCE_TYPE, TAG_GIT_COMMIT, TAG_USER)


def source_file() -> str | None:
    """The script being run: ``sys.argv[0]``, else ``__main__.__file__`` (None in a REPL)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and argv0 not in ("-c", "-m") and os.path.isfile(argv0):
        return str(Path(argv0).absolute())
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return str(Path(main_file).absolute()) if main_file and os.path.isfile(main_file) else None


def user_name() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers; the run is still useful without it
        return None


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def _read_ref(git_dir: Path, ref: str) -> str | None:
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():  # worktrees keep branch refs in the main repository
        common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    for base in (git_dir, common):
        loose = base / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref and not line.startswith(("#", "^")):
                return sha
    return None


def git_commit(start: str | Path | None = None) -> str | None:
    """The commit checked out in the git working tree holding ``start`` (None outside one)."""
    try:
        git_dir = _git_dir(Path(start or os.getcwd()).absolute())
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if head.startswith("ref:"):
            return _read_ref(git_dir, head[len("ref:") :].strip())
        return head or None  # detached HEAD holds the commit itself
    except OSError:
        return None


def run_context_tags() -> dict[str, str]:
    """The tags every new run gets automatically."""
    tags: dict[str, str] = {}
    source = source_file()
    if source:
        tags[TAG_SOURCE] = source
    tags[TAG_SOURCE_TYPE] = "LOCAL"
    commit = git_commit(Path(source).parent if source else None)
    if commit:
        tags[TAG_GIT_COMMIT] = commit
    user = user_name()
    if user:
        tags[TAG_USER] = user
    return tags


_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fearless", "gentle",
    "glad", "honest", "jolly", "keen", "lively", "lucky", "mellow", "nimble", "patient", "plucky",
    "quiet", "rapid", "shiny", "steady", "sunny", "swift", "tidy", "upbeat", "vivid", "witty",
)  # fmt: skip
_ANIMALS = (
    "badger", "bison", "crane", "dolphin", "eagle", "falcon", "ferret", "finch", "fox", "gecko",
    "heron", "ibex", "jaguar", "koala", "lark", "lemur", "lynx", "marten", "newt", "otter",
    "owl", "panda", "puffin", "quail", "raven", "seal", "stork", "tapir", "wombat", "yak",
)  # fmt: skip


# its own generator: drawing from ``random``'s shared one would shift a seeded training script
_PICK = random.SystemRandom()


def random_run_name() -> str:
    """A readable name for a run started without one, such as ``swift-otter-417``."""
    return f"{_PICK.choice(_ADJECTIVES)}-{_PICK.choice(_ANIMALS)}-{_PICK.randrange(1000)}"
