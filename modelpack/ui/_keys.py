"""The column chooser's keys: every param, metric and tag key of an experiment's runs, read
by the store (``Store.run_keys``) and kept a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from modelpack._store import Store

__all__ = ["column_keys"]

_TTL_S = 15.0

_cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, list[str]]]] = {}
_lock = threading.Lock()


def column_keys(store: Store, experiment_ids: Sequence[str] | None) -> dict[str, list[str]]:
    """``store.run_keys(experiment_ids)``, kept a few seconds so paging through runs does not
    re-read them for every page."""
    cache_key = (store.uri, tuple(experiment_ids or ()))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(cache_key)
        if hit is not None and now - hit[0] < _TTL_S:
            return hit[1]
    keys = store.run_keys(experiment_ids)
    with _lock:
        _cache[cache_key] = (now, keys)
    return keys
