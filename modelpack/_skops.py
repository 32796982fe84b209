"""Importing ``skops.io`` without re-deriving its trusted sklearn types in every process.

When imported, ``skops.io`` builds its default trusted types from the names of every sklearn
estimator, which it gets from ``sklearn.utils.all_estimators()``. That call imports every
sklearn submodule: about half a second, paid by every fresh process that loads a skops file
(a server start, a batch job), although the model itself needs two or three of those modules.

The list depends only on the installed sklearn and skops, so the first import records the names
skops derived in modelpack's cache directory, keyed by both versions and sklearn's install
location. Later imports give skops the same names (as bare named classes) while it computes the
list, so it ends up with exactly the trusted types it would have computed, without importing
the modules. Anything unexpected (no cache directory, an unreadable or foreign cache file, a
different skops layout) falls back to the plain import. ``MODELPACK_SKOPS_CACHE=0`` turns the
cache off.

The cache file widens what skops trusts only to names skops itself derived, but whoever can
write to the cache directory could add names; it lives in the user's own cache directory
(``MODELPACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/modelpack``, else ``~/.cache/modelpack``),
which only that user can write to, like their site-packages.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "import_skops_io"]

_FORMAT = 1


def cache_dir() -> Path:
    """Where modelpack keeps per-user caches."""
    explicit = os.environ.get("MODELPACK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modelpack"


def _enabled() -> bool:
    return os.environ.get("MODELPACK_SKOPS_CACHE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def _key() -> dict[str, Any] | None:
    """What the cached names depend on, or None when it cannot be told cheaply."""
    try:
        import sklearn
        import skops
    except ImportError:
        return None
    where = getattr(sklearn, "__file__", None)
    if not where:
        return None
    try:
        stamp = os.stat(where).st_mtime_ns
    except OSError:
        return None
    return {
        "format": _FORMAT,
        "python": sys.version_info[:2],
        "sklearn": sklearn.__version__,
        "skops": skops.__version__,
        "sklearn_file": where,
        "sklearn_mtime_ns": stamp,
    }


def _path(key: dict[str, Any]) -> Path:
    return cache_dir() / f"skops-trusted-{key['skops']}-sklearn-{key['sklearn']}.json"


def _read(key: dict[str, Any]) -> list[str] | None:
    try:
        data = json.loads(_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != json.loads(json.dumps(key)):
        return None
    names = data.get("names")
    if not isinstance(names, list):
        return None
    if not names or not all(isinstance(n, str) and n.startswith("sklearn.") for n in names):
        return None
    return names


def _write(key: dict[str, Any], names: list[str]) -> None:
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".skops-trusted-", suffix=".tmp")
    except OSError:  # a read-only home directory: the cache is only an optimisation
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"key": key, "names": names}, f)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _stand_ins(names: list[str]) -> list[tuple[str, type]]:
    """``(name, class)`` pairs like ``all_estimators()`` returns, with bare classes whose
    module and name are those recorded (all skops reads from them)."""
    out = []
    for full in names:
        module, _, name = full.rpartition(".")
        out.append((name, type(name, (), {"__module__": module})))
    return out


def import_skops_io() -> Any:
    """``import skops.io``, using (and refreshing) the cached trusted names when possible."""
    done = sys.modules.get("skops.io")
    if done is not None:
        return done
    key = _key() if _enabled() else None
    if key is None:
        import skops.io

        return skops.io
    names = _read(key)
    if names is None:
        import skops.io

        derived = getattr(
            sys.modules.get("skops.io._trusted_types"), "SKLEARN_ESTIMATOR_TYPE_NAMES", None
        )
        if isinstance(derived, list) and derived:
            _write(key, [str(n) for n in derived])
        return skops.io
    import sklearn.utils

    real = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *a, **k: _stand_ins(names)
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = real
        trusted = sys.modules.get("skops.io._trusted_types")
        if trusted is not None and hasattr(trusted, "all_estimators"):
            trusted.all_estimators = real  # type: ignore[attr-defined]  # skops keeps its import
    return skops.io
