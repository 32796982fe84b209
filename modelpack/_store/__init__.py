"""The store: runs, the model registry and artifact storage.

A store is a registry database plus an artifact folder. The embedded default needs no set-up:
``./modelpack-store/`` in the working directory (``modelpack.db`` + ``artifacts/``).
``MODELPACK_STORE_URI`` or :func:`set_store_uri` selects another (see ``_location``).
``Store`` (``_base``) is the interface; ``SqliteStore`` the implementation. ``resolve`` answers
``runs:/`` and ``models:/`` URIs for ``modelpack._uri.resolve_uri``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modelpack._store._base import Store
from modelpack._store._location import ENV_VAR, parse_store_uri
from modelpack.exceptions import ModelNotFoundError

if TYPE_CHECKING:
    from modelpack._store._entities import ModelVersion
    from modelpack._uri import ModelURI

__all__ = [
    "close_stores",
    "get_store",
    "get_store_uri",
    "model_version_for",
    "resolve",
    "resolve_in",
    "set_store_uri",
]

_configured: str | None = None
_stores: dict[Path, Store] = {}
_lock = threading.Lock()


def set_store_uri(uri: str | os.PathLike[str] | None) -> None:
    """Select the store used by runs, ``log_model`` and the registry in this process.

    Parameters
    ----------
    uri : str, path or None
        A directory (``modelpack.db`` and ``artifacts/`` inside it), ``file:///dir``, or
        ``sqlite:///path/to.db`` (artifacts in ``<name>-artifacts/`` beside the database).
        None goes back to ``MODELPACK_STORE_URI``, else ``./modelpack-store``.
    """
    global _configured
    if uri is not None:
        parse_store_uri(uri)  # fail now on a malformed URI, not at first use
    _configured = None if uri is None else os.fspath(uri)


def get_store_uri() -> str:
    """The store URI in effect: :func:`set_store_uri`, else ``MODELPACK_STORE_URI``, else
    the absolute path of ``./modelpack-store``."""
    if _configured is not None:
        return _configured
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    return str(parse_store_uri(None).db_path.parent)


def get_store(uri: str | os.PathLike[str] | None = None) -> Store:
    """The store for ``uri`` (default: :func:`get_store_uri`), opened once per process."""
    location = parse_store_uri(get_store_uri() if uri is None else uri)
    with _lock:
        store = _stores.get(location.db_path)
        if store is None:
            from modelpack._store._sqlite import SqliteStore

            store = _stores[location.db_path] = SqliteStore(location)
    return store


def close_stores() -> None:
    """Close this thread's database connections and forget the opened stores."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def resolve(uri: ModelURI) -> Path:
    """The local model directory a ``runs:/`` or ``models:/`` URI names."""
    return resolve_in(get_store(), uri)


def resolve_in(store: Store, uri: ModelURI) -> Path:
    """:func:`resolve` against a given store."""
    if uri.kind == "runs":
        assert uri.run_id is not None and uri.path is not None
        return _resolve_run_path(store, uri.run_id, uri.path, raw=uri.raw)
    version = model_version_for(store, uri)
    path = Path(version.storage_location)
    if not (path / "MLmodel").is_file():
        raise ModelNotFoundError(
            f"version {version.version} of {version.name!r} points at {path}, which holds no "
            "model any more (deleted or moved outside modelpack); register the model again",
            uri=uri.raw,
        )
    return path


def model_version_for(store: Store, uri: ModelURI) -> ModelVersion:
    """The version a parsed ``models:/`` URI names."""
    assert uri.name is not None
    if uri.alias is not None:
        return store.get_model_version_by_alias(uri.name, uri.alias)
    if uri.version is not None:
        return store.get_model_version(uri.name, uri.version)
    if uri.stage is not None:
        return store.get_latest_version(uri.name, uri.stage)
    return store.get_latest_version(uri.name)


def _resolve_run_path(store: Store, run_id: str, path: str, *, raw: str) -> Path:
    run = store.get_run(run_id)
    root = Path(run.info.artifact_uri)
    rel = PurePosixPath(path)
    target = root.joinpath(*rel.parts)
    if ".." in rel.parts or rel.is_absolute() or not target.is_dir():
        models = ", ".join(run.logged_models) or "none"
        raise ModelNotFoundError(
            f"run {run_id} has no model at {path!r}; models logged in this run: {models}",
            uri=raw,
        )
    return target
