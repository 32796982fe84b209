"""The one rule for a path given from outside under a root: an artifact path, a storage key.

Run artifacts on the local disk (:func:`modelpack._store.artifact_parts`), every storage
backend, the team server's artifact routes and the files an ``MLmodel`` lists all read a
caller's path through :func:`clean_path`, so a path refused by one is refused by all, with the
same :class:`~modelpack.exceptions.StoreError` and the same message.

Accepted: POSIX or Windows separators, repeated separators and ``.`` parts (``a//b``,
``./a``, ``a\\b`` are ``a/b``, ``a``, ``a/b``); ``None`` and ``""`` name the root itself.

Refused: an absolute path (``/etc/passwd``; a storage key has no absolute form, and reading
one as relative would hide a caller's mix-up of a local path with an artifact path), a drive
(``C:\\x``, or ``C:`` as any part, which Windows would join as a jump to that drive), a
``..`` part anywhere (even ``a/b/..``, which stays inside: the check is on the text, never on
what the file system would make of it), a NUL or other control character, and a path longer
than a file system or S3 takes (a part over 255 bytes, the whole over 1024 bytes in UTF-8).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from modelpack.exceptions import StoreError

__all__ = ["MAX_PART_BYTES", "MAX_PATH_BYTES", "clean_path"]

#: the longest file name most file systems take (NAME_MAX)
MAX_PART_BYTES = 255
#: the longest S3 object key
MAX_PATH_BYTES = 1024

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _problem(text: str) -> str | None:
    """Why ``text`` (separators already ``/``) is refused, or None."""
    if _CONTROL.search(text):
        return "it holds a control character (NUL, newline...)"
    if text.startswith("/"):
        return "it is absolute"
    parts = text.split("/")
    if any(_DRIVE.match(part) for part in parts):
        return "it names a drive"
    if ".." in parts:
        return "it climbs out with '..'"
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES for part in parts):
        return f"a part of it is longer than {MAX_PART_BYTES} bytes"
    return None


def clean_path(
    path: str | None,
    *,
    what: str = "artifact path",
    root: str = "the storage root",
    example: str = "model/MLmodel",
) -> str:
    """``"a//b/./c"`` -> ``"a/b/c"``; None and ``""`` are the root (``""``).

    Parameters
    ----------
    path : str or None
        The caller's path, relative to ``root``.
    what, root, example : str
        Words for the message: what the path is, what it is relative to, a good one.

    Raises
    ------
    StoreError
        The path is absolute, names a drive, has a ``..`` part, a control character, or is
        too long (see the module docstring); the message says which and shows a good path.
    """
    if path is None:
        return ""
    text = str(path).replace("\\", "/")
    problem = _problem(text)
    if problem is not None:
        shown = repr(path) if len(str(path)) <= 120 else repr(str(path)[:60] + "...")
        raise StoreError(
            f"invalid {what} {shown}: {problem}. Give a path relative to {root}, without "
            f"'..', a drive or a leading '/' (e.g. {example!r})"
        )
    return "/".join(part for part in PurePosixPath(text).parts if part not in ("", "."))
