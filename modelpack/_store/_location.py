"""Where the store lives: parsing a store URI into a database file and an artifact folder.

Accepted store URIs::

    (unset)                       ./modelpack-store/  (modelpack.db + artifacts/)
    path/to/dir   file:///dir     <dir>/modelpack.db + <dir>/artifacts/
    sqlite:///relative/to.db      the database; artifacts in <stem>-artifacts/ beside it
    sqlite:////absolute/to.db     (as in SQLAlchemy: three slashes relative, four absolute)

An existing database remembers its artifact folder (recorded when it was created), so the
same store opened through a different URI form still finds its artifacts. These are the
embedded (SQLite) backend's URI forms; ``ENV_VAR`` and the default directory apply to any
backend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelpack.exceptions import StoreError

__all__ = [
    "DB_FILE",
    "DEFAULT_STORE_DIR",
    "ENV_VAR",
    "StoreLocation",
    "parse_store_uri",
]

ENV_VAR = "MODELPACK_STORE_URI"
DEFAULT_STORE_DIR = "modelpack-store"
DB_FILE = "modelpack.db"
ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class StoreLocation:
    """A resolved store: the SQLite file and the artifact folder used if it is new."""

    uri: str
    db_path: Path
    default_artifact_root: Path


def _sqlite(uri: str) -> StoreLocation:
    rest = uri[len("sqlite:") :]
    if not rest.startswith("///"):
        raise StoreError(
            f"invalid store URI {uri!r}: use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    raw = unquote(rest[3:].split("?", 1)[0])
    if raw in ("", ":memory:"):
        raise StoreError(
            f"invalid store URI {uri!r}: the store needs a database file on disk (its models "
            "live in a folder beside it); use sqlite:///modelpack.db or a directory"
        )
    db = Path(raw).expanduser().absolute()
    return StoreLocation(uri, db, db.parent / f"{db.stem}-artifacts")


def _directory(uri: str, path: str) -> StoreLocation:
    root = Path(path).expanduser().absolute()
    if root.is_file():
        raise StoreError(
            f"store location {root} is a file; give a directory, or sqlite:///{path} for a "
            "database file"
        )
    return StoreLocation(uri, root / DB_FILE, root / ARTIFACTS_DIR)


def parse_store_uri(uri: str | os.PathLike[str] | None) -> StoreLocation:
    """Parse a store URI (None: the embedded default in the working directory)."""
    if uri is None or os.fspath(uri) == "":
        return _directory(DEFAULT_STORE_DIR, DEFAULT_STORE_DIR)
    text = os.fspath(uri)
    if text.startswith("sqlite:"):
        return _sqlite(text)
    if text.startswith("file:"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise StoreError(f"invalid store URI {text!r}: file URIs must be local")
        return _directory(text, unquote(parsed.path))
    scheme = urlparse(text).scheme
    if len(scheme) > 1:  # one letter is a Windows drive
        raise StoreError(
            f"unsupported store URI {text!r}: use a directory, file:///dir or sqlite:///path/to.db"
        )
    return _directory(text, text)
