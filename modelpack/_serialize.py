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

from modelpack._optional import require
from modelpack._skops import import_skops_io
from modelpack.exceptions import ManifestError, UnsafeModelError, warn

__all__ = [
    "FORMATS",
    "PICKLE_FORMATS",
    "dump_object",
    "load_object",
    "pickle_allowed",
]

PICKLE_FORMATS = frozenset({"cloudpickle", "pickle"})
#: every format an object is written in, recorded as ``serialization_format`` (as MLflow does)
FORMATS = ("skops", "cloudpickle", "pickle")
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


def _skops_io(purpose: str) -> Any:
    """``skops.io``, or MissingDependencyError naming the extra that installs it."""
    require("sklearn", "sklearn", purpose=purpose)
    require("skops", "sklearn", purpose=purpose)
    return import_skops_io()


def _skops_bytes(obj: Any, *, required: bool) -> bytes | None:
    """The skops serialization of ``obj`` if skops trusts every type in it, else None; when
    skops was asked for by name (``required``), an error saying why it cannot be used."""
    if required:
        sio = _skops_io("serialization_format='skops'")
    else:
        try:
            sio = import_skops_io()
        except ImportError:
            return None
    try:
        data = sio.dumps(obj)
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as e:  # skops refuses some objects outright; cloudpickle handles them
        if required:
            raise _skops_refused(obj, f"skops cannot write it ({e})") from e
        return None
    if untrusted:
        if required:
            why = f"it holds types skops does not trust by default ({', '.join(untrusted)})"
            raise _skops_refused(obj, why)
        return None
    return data


def _skops_refused(obj: Any, why: str) -> ManifestError:
    # The format is recorded as the manifest's serialization_format; this one cannot be.
    return ManifestError(
        f"serialization_format='skops' does not fit this {type(obj).__name__}: {why}. Save it "
        "with serialization_format='cloudpickle', or leave serialization_format unset to "
        "choose automatically"
    )


def dump_object(obj: Any, directory: Path, stem: str, *, fmt: str | None = None) -> tuple[str, str]:
    """Write ``obj`` as ``<stem>.skops`` or ``<stem>.pkl``; return (file name, format).

    ``fmt`` None picks skops when skops trusts every type in ``obj``, else cloudpickle.
    """
    if fmt is not None and fmt not in FORMATS:
        # The value is recorded as the manifest's serialization_format, which allows only these.
        raise ManifestError(
            f"serialization_format={fmt!r} is not a format modelpack writes; pass one of "
            f"{', '.join(map(repr, FORMATS))}, or leave it unset to choose automatically"
        )
    if fmt in (None, "skops"):
        data = _skops_bytes(obj, required=fmt == "skops")
        if data is not None:
            name = f"{stem}.skops"
            (directory / name).write_bytes(data)
            return name, "skops"
    name = f"{stem}.pkl"
    with open(directory / name, "wb") as f:
        if fmt == "pickle":
            pickle.dump(obj, f, protocol=pickle.DEFAULT_PROTOCOL)
            return name, "pickle"
        import cloudpickle

        cloudpickle.dump(obj, f, protocol=pickle.DEFAULT_PROTOCOL)
    return name, "cloudpickle"


def _load_skops(path: Path, trusted: list[str] | None) -> Any:
    sio = _skops_io(f"loading {path.name}")
    from skops.io.exceptions import UntrustedTypesFoundException

    data = path.read_bytes()
    try:
        return sio.loads(data, trusted=trusted or None)
    except UntrustedTypesFoundException as e:
        names = sorted(set(sio.get_untrusted_types(data=data)) - set(trusted or ()))
        raise UnsafeModelError(
            f"{path} holds types skops does not trust by default ({', '.join(names)}); loading "
            "them could run their code, and modelpack never trusts them silently (nor because "
            "the model's own MLmodel lists them as skops_trusted_types). Only if you trust the "
            "model's source, pass them as load_model(..., trusted_types=[...]); or save the "
            "model again"
        ) from e


def load_object(
    path: Path, fmt: str, *, allow_pickle: bool = True, trusted: list[str] | None = None
) -> Any:
    """Read an object written by :func:`dump_object` (or by MLflow in the same formats).

    skops files load with skops' default trusted types plus ``trusted`` (from the caller, never
    from the model's manifest); an untrusted type in the file is an error, never silently
    allowed.
    """
    if fmt == "skops":
        return _load_skops(path, trusted)
    if fmt not in PICKLE_FORMATS:
        raise ManifestError(
            f"{path.name} is recorded with serialization_format {fmt!r}, which this modelpack "
            f"does not read (it reads {', '.join(FORMATS)}); upgrade modelpack "
            "(pip install -U modelpack) or save the model again"
        )
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
