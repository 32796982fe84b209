"""Which storage class serves a root URI: a small table by scheme, fsspec for the rest."""

from __future__ import annotations

import importlib
import os
from urllib.parse import urlparse

from modelpack._storage._base import ArtifactStorage
from modelpack._storage._fsspec import PACKAGES
from modelpack.exceptions import StoreError

__all__ = ["is_remote_scheme", "register_backend", "resolve_location", "scheme_of", "storage_for"]

#: scheme -> "module:class"; "" is a plain local path. Schemes not listed go to fsspec.
_BACKENDS: dict[str, str] = {
    "": "modelpack._storage._local:LocalStorage",
    "file": "modelpack._storage._local:LocalStorage",
    "s3": "modelpack._storage._s3:S3Storage",
}
_FSSPEC = "modelpack._storage._fsspec:FsspecStorage"
# fsspec names for local or in-process file systems, which are not remote model locations
_NOT_REMOTE = {"file", "local"}


def register_backend(scheme: str, target: str) -> None:
    """Serve ``scheme://`` URIs with ``target``, a ``"module:Class"`` ArtifactStorage subclass.

    Imported on first use. Registering the same target again is a no-op; a scheme already
    served by another class is a StoreError (one owner per scheme).
    """
    scheme = scheme.lower()
    current = _BACKENDS.setdefault(scheme, target)
    if current != target:
        raise StoreError(f"the {scheme}:// scheme is already served by {current}, not {target}")


def scheme_of(uri: str) -> str:
    """The URI's scheme in lower case; ``""`` for a path (``C:\\...`` included)."""
    scheme = urlparse(uri).scheme.lower()
    return scheme if len(scheme) > 1 else ""


def resolve_location(root: str | os.PathLike[str], location: str) -> str:
    """Where a recorded ``location`` is: itself when it is a URI (``s3://...``,
    ``mlflow-artifacts:/...``, ``file:///...``) or an absolute path; else under ``root``.

    A store records model and artifact locations relative to its artifact root so it can
    move as a whole, and records remote ones as they are; joining a URI onto a local folder
    (``/store/artifacts/s3:/bucket/...``) would point nowhere.
    """
    if scheme_of(location) or os.path.isabs(location):
        return location
    base = os.fspath(root)
    if scheme_of(base):
        return f"{base.rstrip('/')}/{location.lstrip('/')}" if location else base
    return os.path.join(base, location)


def _fsspec_knows(scheme: str) -> bool:
    try:
        import fsspec
    except ImportError:
        return False
    return scheme in fsspec.available_protocols()


def is_remote_scheme(scheme: str) -> bool:
    """True for ``s3``, the fsspec schemes modelpack names (``gs``, ``abfs``, ...), and any
    other scheme the installed fsspec implements."""
    scheme = scheme.lower()
    if scheme in _NOT_REMOTE or not scheme:
        return False
    return scheme in _BACKENDS or scheme in PACKAGES or _fsspec_knows(scheme)


def storage_for(uri: str) -> ArtifactStorage:
    """The storage for a root URI: a local path or ``file://``, ``s3://``, or an fsspec scheme.

    Raises
    ------
    StoreError
        For a scheme that no backend and no installed fsspec implements.
    MissingDependencyError
        When the scheme's library (boto3, fsspec, gcsfs, adlfs) is not installed; the
        message names it.
    """
    scheme = scheme_of(uri)
    target = _BACKENDS.get(scheme)
    if target is None:
        if scheme not in PACKAGES and not _fsspec_knows(scheme):
            raise StoreError(
                f"no artifact storage for {scheme}:// URIs ({uri!r}); use a local path, "
                "file://, s3://, gs:// or abfs:// (other schemes need fsspec and the "
                "scheme's package: pip install fsspec)"
            )
        target = _FSSPEC
    module, _, name = target.partition(":")
    cls: type[ArtifactStorage] = getattr(importlib.import_module(module), name)
    return cls(uri)
