"""The store: runs, the model registry and artifact storage.

A store is a registry database plus an artifact folder. The embedded default needs no set-up:
``./modelpack-store/`` in the working directory (``modelpack.db`` + ``artifacts/``).
``MODELPACK_STORE_URI`` or :func:`set_store_uri` selects another (see ``_location``).
``Store`` (``_base``) is the interface; ``SqliteStore`` the implementation. Resolving
``runs:/`` and ``models:/`` URIs belongs to ``modelpack._uri``, which uses this interface.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from modelpack._store._base import RegistryStore, RunStore, Store
from modelpack._store._context import TAG_PARENT, git_commit, run_context_tags, user_name
from modelpack._store._entities import (
    RUN_STATUSES,
    STAGES,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    NewRun,
    NewVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunQuery,
    canonical_stage,
    now_ms,
)
from modelpack._store._filter import FilterError
from modelpack._store._location import ENV_VAR, parse_store_uri

__all__ = [
    # the interface
    "RegistryStore",
    "RunStore",
    "Store",
    # opening the store in effect
    "close_stores",
    "get_store",
    "get_store_uri",
    "set_store_uri",
    # what the store takes and hands back
    "RUN_STATUSES",
    "STAGES",
    "Experiment",
    "FilterError",
    "LoggedModel",
    "Metric",
    "ModelVersion",
    "NewRun",
    "NewVersion",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunQuery",
    "canonical_stage",
    "now_ms",
    # what a new run records about where it ran
    "TAG_PARENT",
    "git_commit",
    "run_context_tags",
    "user_name",
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
