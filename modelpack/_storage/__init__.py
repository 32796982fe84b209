"""Artifact storage: files under a root URI, on the local disk, S3, or any fsspec scheme.

The seam the store, the server and URI resolution use; it knows nothing of runs or the
registry. :func:`storage_for` picks the backend by scheme (``""``/``file`` a folder, ``s3``
boto3, others fsspec); every backend has the :class:`ArtifactStorage` interface.
:func:`fetch_model` turns a remote model directory into a local, verified one through a
cache keyed by the digest of its ``MLmodel``.

Upload visibility: a model directory is complete when its ``MLmodel`` is there. Uploads write
it last (and delete an old one first), so no reader ever loads a partial model; on the local
disk a new directory is also copied under a temporary name and renamed whole.
"""

from __future__ import annotations

from modelpack._storage._base import ArtifactStorage, FileInfo, clean_path, join
from modelpack._storage._cache import fetch_model, models_cache_dir
from modelpack._storage._factory import (
    is_remote_scheme,
    register_backend,
    resolve_location,
    scheme_of,
    storage_for,
)
from modelpack._storage._fsspec import FsspecStorage
from modelpack._storage._local import LocalStorage
from modelpack._storage._s3 import S3Storage

__all__ = [
    "ArtifactStorage",
    "FileInfo",
    "FsspecStorage",
    "LocalStorage",
    "S3Storage",
    "clean_path",
    "fetch_model",
    "is_remote_scheme",
    "join",
    "models_cache_dir",
    "register_backend",
    "resolve_location",
    "scheme_of",
    "storage_for",
]
