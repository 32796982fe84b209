"""The store: runs, the model registry and artifact storage.

A store is a registry database plus an artifact folder. The embedded default needs no set-up:
``./modelpack-store/`` in the working directory (``modelpack.db`` + ``artifacts/``).
``MODELPACK_STORE_URI`` or :func:`set_store_uri` selects another (see ``_location``).

This package's public surface is exactly ``__all__`` below: the ``Store`` interface (``_base``),
the entities it takes and returns, and the functions that open the store in effect. Which
backend opens a URI is decided by its scheme in ``_BACKENDS``; nothing outside this package
names a backend or imports one of its private modules. Resolving ``runs:/`` and ``models:/``
URIs belongs to ``modelpack._uri``, which uses this interface.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Hashable
from pathlib import Path

from modelpack._store._artifacts import artifact_parts
from modelpack._store._base import RegistryStore, RunStore, Store
from modelpack._store._context import (
    TAG_NOTE,
    TAG_PARENT,
    TAG_RUN_NAME,
    git_commit,
    run_context_tags,
    user_name,
)
from modelpack._store._entities import (
    RUN_STATUSES,
    STAGES,
    Experiment,
    FileInfo,
    LifecycleStage,
    LoggedModel,
    Metric,
    ModelVersion,
    NewRun,
    NewVersion,
    PagedList,
    Param,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
    canonical_stage,
    now_ms,
)
from modelpack._store._filter import FilterError
from modelpack._store._location import DEFAULT_STORE_DIR, ENV_VAR
from modelpack._store._migrate import MigrationSummary, check_source, copy_store
from modelpack._store._registry_search import RegistryValueError
from modelpack.exceptions import StoreError

__all__ = [
    # the interface
    "RegistryStore",
    "RunStore",
    "Store",
    # opening the store in effect
    "close_stores",
    "get_store",
    "get_store_uri",
    "migrate_store",
    "set_store_uri",
    "upgrade_store",
    # what the store takes and hands back
    "RUN_STATUSES",
    "STAGES",
    "Experiment",
    "FileInfo",
    "FilterError",
    "LifecycleStage",
    "LoggedModel",
    "Metric",
    "ModelVersion",
    "NewRun",
    "NewVersion",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegistryValueError",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
    "canonical_stage",
    "now_ms",
    # artifact paths the store accepts
    "artifact_parts",
    # what a new run records about where it ran (MLflow's tag names)
    "TAG_NOTE",
    "TAG_PARENT",
    "TAG_RUN_NAME",
    "git_commit",
    "run_context_tags",
    "user_name",
]

#: store URI scheme -> "module:class" of the backend that opens it ("" is a plain path; a
#: one-letter scheme is a Windows drive). Adding a backend is one entry here.
_BACKENDS: dict[str, str] = {
    "": "modelpack._store._sqlite:SqliteStore",
    "file": "modelpack._store._sqlite:SqliteStore",
    "sqlite": "modelpack._store._sqlite:SqliteStore",
    "postgresql": "modelpack._store._postgres:PostgresStore",
    "postgresql+psycopg": "modelpack._store._postgres:PostgresStore",
    "postgres": "modelpack._store._postgres:PostgresStore",
    "http": "modelpack._store._rest:RestStore",
    "https": "modelpack._store._rest:RestStore",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")

_configured: str | None = None
_backends: dict[str, type[Store]] = {}
_stores: dict[tuple[type[Store], Hashable], Store] = {}
_lock = threading.Lock()


def _backend_for(uri: str) -> type[Store]:
    """The backend class for ``uri``'s scheme, imported on first use."""
    head, colon, _ = uri.partition(":")
    backend = _backends.get(head if colon else "")  # the usual case: no regex, no import
    if backend is not None:
        return backend
    match = _SCHEME.match(uri)
    scheme = match.group(1) if match else ""
    target = _BACKENDS.get(scheme)
    if target is None:
        raise StoreError(
            f"unsupported store URI {uri!r}: use a directory, file:///dir, sqlite:///path/to.db, "
            "postgresql://user:password@host:5432/dbname or http(s)://tracking-server"
        )
    module, _, name = target.partition(":")
    backend = _backends[scheme] = getattr(importlib.import_module(module), name)
    return backend


def set_store_uri(uri: str | os.PathLike[str] | None) -> None:
    """Select the store used by runs, ``log_model`` and the registry in this process.

    Parameters
    ----------
    uri : str, path or None
        A directory (``modelpack.db`` and ``artifacts/`` inside it), ``file:///dir``,
        ``sqlite:///path/to.db`` (artifacts in ``<name>-artifacts/`` beside the database),
        ``postgresql://user:password@host:5432/dbname[?artifact_root=...]`` (a team database,
        extra ``postgres``), or ``http(s)://host:port`` (a tracking server).
        None goes back to ``MODELPACK_STORE_URI``, else ``./modelpack-store``.
    """
    global _configured
    if uri is not None:
        text = os.fspath(uri)
        _backend_for(text).identify(text)  # fail now on a malformed URI, not at first use
    _configured = None if uri is None else os.fspath(uri)


def get_store_uri() -> str:
    """The store URI in effect: :func:`set_store_uri`, else ``MODELPACK_STORE_URI``, else
    the absolute path of ``./modelpack-store``."""
    if _configured is not None:
        return _configured
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    return str(Path(DEFAULT_STORE_DIR).absolute())


def get_store(uri: str | os.PathLike[str] | None = None) -> Store:
    """The store for ``uri`` (default: :func:`get_store_uri`), opened once per process."""
    text = get_store_uri() if uri is None else os.fspath(uri)
    backend = _backend_for(text)
    key = (backend, backend.identify(text))
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = backend.open(text)
    return store


def upgrade_store(uri: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """Bring a store's database schema to this release's version (safe to repeat).

    Parameters
    ----------
    uri : str, path or None
        The store (default: :func:`get_store_uri`).

    Returns
    -------
    (int, int)
        The schema version found and the version now (equal when nothing was missing).
    """
    text = get_store_uri() if uri is None else os.fspath(uri)
    backend = _backend_for(text)
    upgrade = getattr(backend, "upgrade", None)
    if upgrade is None:
        raise StoreError(
            f"the store {text} keeps its schema behind a server: upgrade the server's own store "
            "(`modelpack store upgrade --store <its backend store URI>`, or restart "
            "`modelpack server`, which upgrades it when it starts)"
        )
    before, after = upgrade(text)
    return int(before), int(after)


def close_stores() -> None:
    """Close this thread's connections and forget the opened stores."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def migrate_store(source_uri: str, target_uri: str, *, progress: bool = True) -> MigrationSummary:
    """Copy everything in the store ``source_uri`` into ``target_uri``, resumably
    (``modelpack store migrate``; what is copied and how is in ``_migrate``). A source store
    that does not exist is refused, not created empty."""
    check_source(_backend_for(source_uri), source_uri)
    return copy_store(get_store(source_uri), get_store(target_uri), progress=progress)
