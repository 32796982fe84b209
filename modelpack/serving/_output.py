"""Encoding model output as JSON with orjson (numpy arrays are written without a detour)."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["dumps", "encode_predictions", "jsonable"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    """What orjson cannot write natively: object arrays, pandas values, sets, decimals."""
    if hasattr(obj, "tolist"):  # numpy arrays orjson does not take, numpy scalars
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=_OPTIONS)


def jsonable(out: Any) -> Any:
    """Model output in the shape MLflow's scoring server answers with.

    A DataFrame becomes a list of records and a Series a list of one-key records (MLflow does
    the same); numpy arrays and plain Python values pass through to the encoder.
    """
    module = type(out).__module__
    if module.startswith("pandas"):
        if hasattr(out, "columns"):
            return out.to_dict(orient="records")
        if hasattr(out, "to_frame"):
            return out.to_frame(name=out.name if out.name is not None else 0).to_dict(
                orient="records"
            )
    numpy_array = module.startswith("numpy") and getattr(out, "dtype", None) is not None
    if numpy_array and (out.dtype.kind not in "biufM" or not out.flags.c_contiguous):
        return out.tolist()
    return out


def encode_predictions(out: Any) -> bytes:
    return dumps({"predictions": jsonable(out)})
