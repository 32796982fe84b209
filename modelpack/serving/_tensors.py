"""Open Inference Protocol tensors: datatypes, shapes, and their data as values or raw bytes.

One owner for what the JSON body, the binary tensor extension and gRPC share: the datatype
names, the checks on a declared shape, reading a tensor from a list of values or from raw
little-endian bytes, and writing an output array back as bytes. Every reader checks the shape
against the cell limit first and the data against the shape before numpy builds anything, so a
hostile request is a 400 or a 413, never a large allocation.

Raw layouts (the protocol's): fixed-size datatypes are their values row-major, little-endian;
``BOOL`` is one byte per value; ``BYTES`` is each element as a 4-byte little-endian length
followed by that many bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING, Any

from modelpack.serving._errors import bad_request
from modelpack.serving._limits import too_many_cells

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DATATYPES",
    "check_datatype",
    "check_shape",
    "datatype_of",
    "from_bytes",
    "from_values",
    "output_array",
    "to_bytes",
]

#: numpy dtype name -> Open Inference Protocol datatype (anything else is BYTES)
_FROM_NUMPY = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
}
_TO_NUMPY = {v: k for k, v in _FROM_NUMPY.items()}
#: every datatype a request may declare
DATATYPES = (*_TO_NUMPY, "BYTES")
#: numpy's limit; a shape with more dimensions is refused before numpy sees it
_MAX_DIMS = 64
_LENGTH = struct.Struct("<I")


def datatype_of(dtype: Any) -> str:
    """The protocol datatype of a numpy dtype; BYTES for strings and objects."""
    return _FROM_NUMPY.get(str(dtype), "BYTES")


def check_datatype(datatype: Any, where: str) -> str:
    if datatype not in DATATYPES:
        raise bad_request(
            f"{where}: unknown datatype {str(datatype)!r:.40}; expected one of "
            f"{', '.join(DATATYPES)}"
        )
    return str(datatype)


def check_shape(shape: Sequence[Any], where: str, max_cells: int) -> list[int]:
    """The declared shape as a list, refused unless it is at most 64 non-negative sizes whose
    product is within ``max_cells``."""
    if len(shape) > _MAX_DIMS:
        raise bad_request(f"{where}: shape has {len(shape)} dimensions; at most {_MAX_DIMS}")
    sizes = list(shape)
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in sizes):
        raise bad_request(
            f"{where}: shape must be a list of non-negative integers; got {sizes!s:.200}"
        )
    for i, size in enumerate(sizes):
        if size > max_cells:  # never valid, even beside a 0 that makes the product small
            raise bad_request(
                f"{where}: dimension {i} of the shape is {size:,}, more than the limit of "
                f"{max_cells:,} values per request"
            )
    cells = prod(sizes)
    if cells > max_cells:
        raise too_many_cells(f"{where} holds {cells:,} values (shape {sizes})", max_cells)
    return sizes


# ------------------------------------------------------------------------------ values
def from_values(data: Any, datatype: str, shape: list[int], where: str) -> np.ndarray:
    """A tensor from a (flat or nested) list of values, refusing conversions that would change
    them; ``shape`` has passed :func:`check_shape`."""
    arr = _as_array(data, datatype, where)
    if arr.size != prod(shape):
        raise bad_request(
            f"{where}: shape {shape} needs {prod(shape)} values, data holds {arr.size}"
        )
    return arr.reshape(shape)


def _as_array(data: Any, datatype: str, where: str) -> np.ndarray:
    import numpy as np

    try:
        if datatype == "BYTES":
            arr = np.array(data, dtype=object)
            flat = arr.ravel()
            for i, value in enumerate(flat):
                if isinstance(value, bytes):
                    flat[i] = _text(value)
                elif not isinstance(value, str):
                    raise bad_request(f"{where} is BYTES, so its data must be strings")
            return arr
        arr = np.asarray(data)
    except (ValueError, TypeError, OverflowError) as e:
        raise bad_request(f"{where}: data cannot be read as a tensor ({e})") from None
    want = np.dtype(_TO_NUMPY[datatype])
    if arr.dtype == want or not arr.size:
        return arr.astype(want, copy=False)
    kind = arr.dtype.kind
    if want.kind == "f" and kind in "iuf":
        try:
            with np.errstate(over="raise"):
                return arr.astype(want)
        except FloatingPointError:
            raise bad_request(f"{where}: values outside the range of {datatype}") from None
    if want.kind in "iu" and kind in "iuf":
        info = np.iinfo(want)
        integral = kind != "f" or bool(np.all(arr == np.trunc(arr)))
        if integral and arr.min() >= info.min and arr.max() <= info.max:
            return arr.astype(want)
    if want.kind == "b" and kind in "iu" and bool(np.all((arr == 0) | (arr == 1))):
        return arr.astype(want)  # gRPC clients may send booleans as 0 and 1
    raise bad_request(f"{where} declares {datatype} but its data holds {_found(arr)} values")


def _found(arr: np.ndarray) -> str:
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "fractional", "U": "string"}.get(
        arr.dtype.kind, "mixed"
    )


def _text(value: bytes) -> str | bytes:
    """A BYTES element as text when it is UTF-8 (string columns), else the bytes themselves."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value


# ------------------------------------------------------------------------------- bytes
def from_bytes(raw: bytes | memoryview, datatype: str, shape: list[int], where: str) -> np.ndarray:
    """A tensor from its raw bytes; ``shape`` has passed :func:`check_shape`, so its product
    bounds what is built."""
    import numpy as np

    count = prod(shape)
    if datatype == "BYTES":
        return _bytes_elements(raw, count, where).reshape(shape)
    dtype = np.dtype(_TO_NUMPY[datatype]).newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise bad_request(
            f"{where}: shape {shape} of {datatype} needs {count * dtype.itemsize:,} bytes, "
            f"the binary data holds {len(raw):,}"
        )
    if datatype == "BOOL":
        octets = np.frombuffer(raw, dtype=np.uint8)
        if octets.size and octets.max() > 1:
            raise bad_request(f"{where} is BOOL, so each of its bytes must be 0 or 1")
        return octets.astype(bool).reshape(shape)
    arr = np.frombuffer(raw, dtype=dtype)
    return arr.astype(dtype.newbyteorder("="), copy=False).reshape(shape)


def _bytes_elements(raw: bytes | memoryview, count: int, where: str) -> np.ndarray:
    import numpy as np

    view = memoryview(raw)
    out = np.empty(count, dtype=object)
    offset, end = 0, len(view)
    for i in range(count):
        if end - offset < 4:
            raise bad_request(
                f"{where}: the binary data ends after {i} of its {count} BYTES elements"
            )
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += 4
        if length > end - offset:
            raise bad_request(
                f"{where}: BYTES element {i} declares {length:,} bytes, only "
                f"{end - offset:,} remain"
            )
        out[i] = _text(bytes(view[offset : offset + length]))
        offset += length
    if offset != end:
        raise bad_request(
            f"{where}: {end - offset:,} bytes follow the last of its {count} BYTES elements"
        )
    return out


def to_bytes(arr: np.ndarray, datatype: str) -> bytes:
    """An output array as the protocol's raw bytes (see the module docstring)."""
    import numpy as np

    if datatype == "BYTES":
        parts = []
        for value in arr.ravel().tolist():
            data = value if isinstance(value, bytes) else str(value).encode()
            parts.append(_LENGTH.pack(len(data)))
            parts.append(data)
        return b"".join(parts)
    dtype = np.dtype(_TO_NUMPY[datatype]).newbyteorder("<")
    return np.ascontiguousarray(arr, dtype=dtype).tobytes()


# ------------------------------------------------------------------------------ outputs
def output_array(value: Any, declared: str | None = None) -> tuple[np.ndarray, str]:
    """A model output (array, Series, list) as an array and its datatype.

    ``declared`` is the datatype the model's metadata advertises for it; a numeric output is
    converted to it when numpy can do so without losing its kind (int64 -> INT32 is not), so
    metadata and answer agree.
    """
    import numpy as np

    arr = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
    datatype = datatype_of(arr.dtype)
    if (
        declared is not None
        and declared != datatype
        and declared != "BYTES"
        and datatype != "BYTES"
        and np.can_cast(arr.dtype, _TO_NUMPY[declared], "same_kind")
    ):
        want = np.dtype(_TO_NUMPY[declared])
        if want.kind == "f" or np.can_cast(arr.dtype, want, "safe"):
            return arr.astype(want), declared
    return arr, datatype
