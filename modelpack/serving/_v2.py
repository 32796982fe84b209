"""The Open Inference Protocol (KServe V2) REST bodies: model metadata, infer requests, outputs.

A model with a column signature takes one input tensor per column (shape ``[n]`` or
``[n, 1]``), or a single ``[n, <number of columns>]`` tensor in signature order; a tensor model
takes one tensor. Output tensors are written row-major and flattened, with their shape; a
DataFrame or dict output gives one output tensor per column.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any

import orjson

from modelpack._signature import TensorSpec
from modelpack.serving._errors import HTTPError, bad_request
from modelpack.serving._limits import DEFAULT_MAX_CELLS, check_json_values, too_many_cells
from modelpack.serving._payload import Inputs, params_key

if TYPE_CHECKING:
    import numpy as np

    from modelpack._signature import ColSpec, Schema
    from modelpack.pyfunc import PyFuncModel

__all__ = ["infer_inputs", "infer_response", "model_metadata"]

# numpy dtype name <-> Open Inference Protocol datatype
_DATATYPES = {
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
_NUMPY = {v: k for k, v in _DATATYPES.items()}
#: numpy's limit; a shape with more dimensions is refused before numpy sees it
_MAX_DIMS = 64
_COLUMN_DATATYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


def _datatype(dtype: Any) -> str:
    return _DATATYPES.get(str(dtype), "BYTES")


# ------------------------------------------------------------------------------ metadata
def _spec_meta(spec: ColSpec | TensorSpec, index: int, prefix: str) -> dict[str, Any]:
    name = spec.name if spec.name is not None else f"{prefix}-{index}"
    if isinstance(spec, TensorSpec):
        return {"name": name, "datatype": _datatype(spec.dtype), "shape": list(spec.shape)}
    return {"name": name, "datatype": _COLUMN_DATATYPES[spec.type], "shape": [-1]}


def _schema_meta(schema: Schema | None, prefix: str) -> list[dict[str, Any]]:
    if schema is None:
        return []
    return [_spec_meta(spec, i, prefix) for i, spec in enumerate(schema.specs)]


def model_metadata(model: PyFuncModel, name: str, version: str | None) -> dict[str, Any]:
    """The body of ``GET /v2/models/{name}``, built from the model's signature."""
    return {
        "name": name,
        "versions": [version] if version else [],
        "platform": f"modelpack-{model.flavor}",
        "inputs": _schema_meta(model.input_schema, "input"),
        "outputs": _schema_meta(model.output_schema, "output"),
    }


# ------------------------------------------------------------------------ infer requests
def _field(tensor: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = tensor.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise bad_request(f"{where} needs {key!r} ({kind.__name__}); got {value!r:.60}")
    return value


def _as_array(data: Any, datatype: str, where: str) -> np.ndarray:
    """``data`` as an array of ``datatype``, refusing conversions that would change values."""
    import numpy as np

    try:
        if datatype == "BYTES":
            arr = np.array(data, dtype=object)
            flat = arr.ravel().tolist()
            if not all(isinstance(v, str) for v in flat):
                raise bad_request(f"{where} is BYTES, so its data must be strings")
            return arr
        arr = np.asarray(data)
    except (ValueError, TypeError, OverflowError) as e:
        raise bad_request(f"{where}: data cannot be read as a tensor ({e})") from None
    want = np.dtype(_NUMPY[datatype])
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
    raise bad_request(f"{where} declares {datatype} but its data holds {_found(arr)} values")


def _found(arr: np.ndarray) -> str:
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "fractional", "U": "string"}.get(
        arr.dtype.kind, "mixed"
    )


def _shape(tensor: dict[str, Any], where: str, max_cells: int) -> list[int]:
    """The declared shape, refused unless it is a list of at most 64 sizes within the limit."""
    shape = _field(tensor, "shape", list, where)
    if len(shape) > _MAX_DIMS:
        raise bad_request(f"{where}: shape has {len(shape)} dimensions; at most {_MAX_DIMS}")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise bad_request(
            f"{where}: shape must be a list of non-negative integers; got {shape!s:.200}"
        )
    for i, size in enumerate(shape):
        if size > max_cells:  # never valid, even beside a 0 that makes the product small
            raise bad_request(
                f"{where}: dimension {i} of the shape is {size:,}, more than the limit of "
                f"{max_cells:,} values per request"
            )
    cells = prod(shape)
    if cells > max_cells:
        raise too_many_cells(f"{where} holds {cells:,} values (shape {shape})", max_cells)
    return shape


def _tensor(tensor: Any, index: int, max_cells: int) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise bad_request(f"inputs[{index}] must be an object with name, shape, datatype and data")
    name = _field(tensor, "name", str, f"inputs[{index}]")
    where = f"input {name!r:.100}"
    shape = _shape(tensor, where, max_cells)
    datatype = _field(tensor, "datatype", str, where)
    if datatype != "BYTES" and datatype not in _NUMPY:
        raise bad_request(
            f"{where}: unknown datatype {datatype!r:.40}; expected one of "
            f"{', '.join([*_NUMPY, 'BYTES'])}"
        )
    arr = _as_array(_field(tensor, "data", list, where), datatype, where)
    if arr.size != prod(shape):
        raise bad_request(
            f"{where}: shape {shape} needs {prod(shape)} values, data holds {arr.size}"
        )
    return name, arr.reshape(shape)


def _columns(tensors: list[tuple[str, np.ndarray]], names: list[str]) -> Inputs:
    unknown = [n for n, _ in tensors if n not in names]
    if unknown:
        if len(tensors) == 1 and tensors[0][1].ndim == 2 and tensors[0][1].shape[1] == len(names):
            return _array(tensors[0][1])  # the whole table as one tensor, columns in order
        raise bad_request(
            f"unknown input(s) {', '.join(map(repr, unknown))}; this model's inputs are the "
            f"columns {', '.join(names)} (one tensor each)"
        )
    cols = {}
    for name, arr in tensors:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise bad_request(f"input {name!r} is a column: its shape must be [n] or [n, 1]")
        cols[name] = arr
    lengths = {len(c) for c in cols.values()}
    if len(lengths) > 1:
        raise bad_request(f"the input columns have different lengths {sorted(lengths)}")
    rows = lengths.pop()
    if not rows:
        raise bad_request("the inputs hold no rows")
    return Inputs(cols, rows, ("v2", *((n, c.dtype.str) for n, c in cols.items())))


def _array(arr: np.ndarray) -> Inputs:
    key = ("array", arr.shape[1:], arr.dtype.str) if arr.ndim >= 2 and len(arr) else None
    return Inputs(arr, len(arr) if arr.ndim else 0, key)


def infer_inputs(
    body: bytes, model: PyFuncModel, *, max_cells: int = DEFAULT_MAX_CELLS
) -> tuple[Inputs, dict[str, Any]]:
    """Parse ``POST /v2/models/{name}/infer``; returns the inputs and the request document."""
    check_json_values(body, max_cells)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise HTTPError(400, "MALFORMED_REQUEST", f"the body is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise bad_request("the body must be a JSON object with a non-empty 'inputs' list")
    tensors = [_tensor(t, i, max_cells) for i, t in enumerate(doc["inputs"])]
    cells = sum(arr.size for _, arr in tensors)
    if cells > max_cells:
        raise too_many_cells(f"the inputs hold {cells:,} values", max_cells)
    if len({n for n, _ in tensors}) != len(tensors):
        raise bad_request("two inputs have the same name")
    schema = model.input_schema
    if schema is not None and schema.has_names and not schema.is_tensor:
        inputs = _columns(tensors, schema.names)
    elif len(tensors) == 1:
        inputs = _array(tensors[0][1])
    elif schema is not None and schema.is_tensor:
        raise bad_request(f"this model takes one input tensor, got {len(tensors)}")
    else:
        inputs = _columns(tensors, [n for n, _ in tensors])
    inputs.params = _declared_params(doc.get("parameters"), model)
    if inputs.key is not None and inputs.params:
        inputs.key = (*inputs.key, params_key(inputs.params))
    return inputs, doc


def _declared_params(parameters: Any, model: PyFuncModel) -> dict[str, Any] | None:
    """Request parameters the model declares; the rest (content_type, ...) are protocol hints."""
    if not isinstance(parameters, dict) or model.signature is None:
        return None
    declared = {p.name for p in model.signature.params or ()}
    return {k: v for k, v in parameters.items() if k in declared} or None


# ------------------------------------------------------------------------------ responses
def _output(name: str, value: Any) -> dict[str, Any]:
    import numpy as np

    arr = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
    datatype = _datatype(arr.dtype)
    data = arr.ravel()
    if datatype == "BYTES" or not data.flags.c_contiguous:
        data = data.tolist()
    return {"name": name, "shape": list(arr.shape), "datatype": datatype, "data": data}


def _output_name(model: PyFuncModel) -> str:
    schema = model.output_schema
    if schema is not None and len(schema.specs) == 1 and schema.specs[0].name:
        return str(schema.specs[0].name)
    return "predict"


def infer_response(
    out: Any, doc: dict[str, Any], model: PyFuncModel, name: str, version: str | None
) -> dict[str, Any]:
    """The infer response: one output tensor, or one per column of a table or dict output."""
    if hasattr(out, "columns"):
        outputs = [_output(str(c), out[c]) for c in out.columns]
    elif isinstance(out, dict):
        outputs = [_output(str(k), v) for k, v in out.items()]
    else:
        outputs = [_output(_output_name(model), out)]
    wanted = doc.get("outputs")
    if isinstance(wanted, list) and wanted:
        names = {str(o.get("name")) for o in wanted if isinstance(o, dict)}
        missing = names - {o["name"] for o in outputs}
        if missing:
            raise bad_request(
                f"unknown output(s) {', '.join(map(repr, sorted(missing)))}; this "
                f"model gives {', '.join(o['name'] for o in outputs)}"
            )
        outputs = [o for o in outputs if o["name"] in names]
    response: dict[str, Any] = {"model_name": name}
    if version:
        response["model_version"] = version
    if isinstance(doc.get("id"), str):
        response["id"] = doc["id"]
    response["outputs"] = outputs
    return response
