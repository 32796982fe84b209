"""Writing and reading Python objects: skops when it is safe, cloudpickle otherwise.

skops is chosen when it is installed and every type in the object is one skops trusts by
default, so the file can be loaded without running arbitrary code. Anything else is written
with cloudpickle, and loading it is announced once per file (it can run code) and refused when
pickle loading is disallowed.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from modelpack._skops import import_skops_io
from modelpack.exceptions import UnsafeModelError, warn

__all__ = [
    "PICKLE_FORMATS",
    "dump_object",
    "load_object",
    "pickle_allowed",
]

PICKLE_FORMATS = frozenset({"cloudpickle", "pickle"})
_announced: set[str] = set()


def pickle_allowed(allow_pickle: bool | None) -> bool:
    """The effective setting: the argument, else ``MODELPACK_ALLOW_PICKLE`` (default on)."""
    if allow_pickle is not None:
        return allow_pickle
    return os.environ.get("MODELPACK_ALLOW_PICKLE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def _skops_bytes(obj: Any) -> bytes | None:
    """The skops serialization of ``obj`` if skops trusts every type in it, else None."""
    try:
        sio = import_skops_io()
    except ImportError:
        return None
    try:
        data = sio.dumps(obj)
        if sio.get_untrusted_types(data=data):
            return None
    except Exception:  # skops refuses some objects outright; cloudpickle handles them
        return None
    return data


def dump_object(obj: Any, directory: Path, stem: str, *, fmt: str | None = None) -> tuple[str, str]:
    """Write ``obj`` as ``<stem>.skops`` or ``<stem>.pkl``; return (file name, format)."""
    if fmt in (None, "skops"):
        data = _skops_bytes(obj)
        if data is not None:
            name = f"{stem}.skops"
            (directory / name).write_bytes(data)
            return name, "skops"
        if fmt == "skops":
            raise ValueError(
                f"{type(obj).__name__} holds types skops does not trust by default; save it "
                "with serialization_format='cloudpickle'"
            )
    name = f"{stem}.pkl"
    with open(directory / name, "wb") as f:
        if fmt == "pickle":
            pickle.dump(obj, f, protocol=pickle.DEFAULT_PROTOCOL)
            return name, "pickle"
        import cloudpickle

        cloudpickle.dump(obj, f, protocol=pickle.DEFAULT_PROTOCOL)
    return name, "cloudpickle"


def load_object(
    path: Path, fmt: str, *, allow_pickle: bool = True, trusted: list[str] | None = None
) -> Any:
    """Read an object written by :func:`dump_object` (or by MLflow in the same formats).

    skops files load with skops' default trusted types plus ``trusted`` (MLflow records such a
    list); an untrusted type in the file is an error, never silently allowed.
    """
    if fmt == "skops":
        from modelpack.flavors import require

        require("sklearn", "sklearn")
        require("skops", "sklearn")
        sio = import_skops_io()
        return sio.loads(path.read_bytes(), trusted=trusted or None)
    if fmt not in PICKLE_FORMATS:
        raise ValueError(f"unknown serialization format {fmt!r} for {path.name}")
    if not allow_pickle:
        raise UnsafeModelError(
            f"{path} is a {fmt} file and loading it can run arbitrary code, but pickle loading "
            "is disallowed (allow_pickle=False or MODELPACK_ALLOW_PICKLE=0). Load it only if "
            "you trust its source, with allow_pickle=True."
        )
    key = str(path.resolve())
    if key not in _announced:
        _announced.add(key)
        warn(
            f"loading {path} with {fmt}: pickle files can run code while loading; only load "
            "models you trust (refuse them with allow_pickle=False)"
        )
    with open(path, "rb") as f:
        if fmt == "cloudpickle":
            import cloudpickle

            return cloudpickle.load(f)
        return pickle.load(f)
