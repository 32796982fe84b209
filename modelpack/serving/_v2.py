"""The Open Inference Protocol (KServe V2): model metadata, infer requests and responses.

A model with a column signature takes one input tensor per column (shape ``[n]`` or
``[n, 1]``), or a single ``[n, <number of columns>]`` tensor in signature order; a tensor model
takes one tensor. Output tensors are row-major with their shape; a DataFrame or dict output
gives one output tensor per column. Output names are those the metadata advertises: the
output schema's names, else ``output-0``, ``output-1``, ...

The REST body is JSON, optionally followed by raw tensor bytes (the binary tensor data
extension): the ``Inference-Header-Content-Length`` header says where the JSON ends, each input
with ``parameters.binary_data_size`` takes its data from the bytes after it, in input order.
An answer carries binary outputs the same way when the request asks for them
(``parameters.binary_data_output``, or ``binary_data`` on a requested output).

What is shared with gRPC (``_grpc``) lives here too: :func:`build_inputs` turns decoded tensors
into what ``predict`` takes with the same signature checks, :func:`model_outputs` and
:func:`select_outputs` name and pick the output tensors. The tensors themselves are read and
written by ``_tensors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from modelpack._signature import TensorSpec
from modelpack.serving import _tensors
from modelpack.serving._errors import HTTPError, bad_request
from modelpack.serving._limits import DEFAULT_MAX_CELLS, check_json_values, too_many_cells
from modelpack.serving._output import dumps
from modelpack.serving._payload import Inputs, params_key

if TYPE_CHECKING:
    import numpy as np

    from modelpack._signature import ColSpec, Schema
    from modelpack.pyfunc import PyFuncModel

__all__ = [
    "EXTENSIONS",
    "HEADER_LENGTH",
    "InferRequest",
    "Output",
    "build_inputs",
    "infer_inputs",
    "infer_response",
    "model_metadata",
    "model_outputs",
    "output_names",
    "select_outputs",
]

#: the protocol extensions this server implements, as server metadata lists them (REST
#: ``GET /v2`` and gRPC ServerMetadata): raw tensor bytes after the JSON body, and the
#: repository index, load and unload endpoints (REST only, like the binary data; over gRPC
#: raw tensors are the core protocol's raw_input_contents)
EXTENSIONS = ("binary_tensor_data", "model_repository")
#: the request and response header of the binary tensor data extension (lower case, as ASGI)
HEADER_LENGTH = b"inference-header-content-length"
#: the request parameter naming the method predict runs; reserved, no signature declares it
_PREDICT_METHOD = "predict_method"
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

#: one output tensor: name, array, datatype
Output = tuple[str, "np.ndarray", str]


# ------------------------------------------------------------------------------ metadata
def _spec_meta(spec: ColSpec | TensorSpec, index: int, prefix: str) -> dict[str, Any]:
    name = spec.name if spec.name is not None else f"{prefix}-{index}"
    if isinstance(spec, TensorSpec):
        datatype = _tensors.datatype_of(spec.dtype)
        return {"name": name, "datatype": datatype, "shape": list(spec.shape)}
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
@dataclass
class InferRequest:
    """What an infer request asks of the answer, beside its inputs."""

    id: str | None = None
    #: requested output names with their binary_data choice (None: the request's default);
    #: None: every output
    outputs: list[tuple[str, bool | None]] | None = None
    #: parameters.binary_data_output: outputs as raw bytes unless an output says otherwise
    binary_output: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)


def _field(tensor: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = tensor.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise bad_request(f"{where} needs {key!r} ({kind.__name__}); got {value!r:.60}")
    return value


class _Binary:
    """The raw bytes after the JSON header, handed out to inputs in order."""

    def __init__(self, data: memoryview) -> None:
        self.data, self.offset = data, 0

    def take(self, size: Any, where: str) -> memoryview:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad_request(
                f"{where}: binary_data_size must be a non-negative integer; got {size!r:.40}"
            )
        left = len(self.data) - self.offset
        if size > left:
            raise bad_request(
                f"{where}: binary_data_size is {size:,} bytes, but only {left:,} bytes of "
                "binary data remain in the body"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def _tensor(tensor: Any, index: int, max_cells: int, binary: _Binary | None) -> tuple[str, Any]:
    if not isinstance(tensor, dict):
        raise bad_request(f"inputs[{index}] must be an object with name, shape, datatype and data")
    name = _field(tensor, "name", str, f"inputs[{index}]")
    where = f"input {name!r:.100}"
    shape = _tensors.check_shape(_field(tensor, "shape", list, where), where, max_cells)
    datatype = _tensors.check_datatype(_field(tensor, "datatype", str, where), where)
    params = tensor.get("parameters")
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is None:
        return name, _tensors.from_values(
            _field(tensor, "data", list, where), datatype, shape, where
        )
    if binary is None:
        raise bad_request(
            f"{where} has binary_data_size but the request has no "
            "Inference-Header-Content-Length header saying where the JSON ends"
        )
    if "data" in tensor:
        raise bad_request(f"{where} has both data and binary_data_size; send one")
    return name, _tensors.from_bytes(binary.take(size, where), datatype, shape, where)


def _split_body(body: bytes, header_length: bytes | None) -> tuple[bytes, _Binary | None]:
    if header_length is None:
        return body, None
    text = header_length.decode("latin-1").strip()
    if not text.isdigit() or not 0 < int(text) <= len(body):
        raise bad_request(
            f"Inference-Header-Content-Length must be the JSON header's length in bytes, "
            f"between 1 and the body's {len(body):,}; got {text!r:.40}"
        )
    length = int(text)
    return body[:length], _Binary(memoryview(body)[length:])


def infer_inputs(
    body: bytes,
    model: PyFuncModel,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    header_length: bytes | None = None,
) -> tuple[Inputs, InferRequest]:
    """Parse ``POST /v2/models/{name}/infer``; ``header_length`` is the value of the
    Inference-Header-Content-Length header, if any."""
    head, binary = _split_body(body, header_length)
    check_json_values(head, max_cells)
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError as e:
        raise HTTPError(400, "MALFORMED_REQUEST", f"the body is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise bad_request("the body must be a JSON object with a non-empty 'inputs' list")
    tensors = [_tensor(t, i, max_cells, binary) for i, t in enumerate(doc["inputs"])]
    if binary is not None and binary.offset != len(binary.data):
        raise bad_request(
            f"{len(binary.data) - binary.offset:,} bytes of binary data follow the JSON header "
            "that no input's binary_data_size accounts for"
        )
    parameters = doc.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    request = InferRequest(
        id=doc["id"] if isinstance(doc.get("id"), str) else None,
        outputs=_requested(doc.get("outputs")),
        binary_output=parameters.get("binary_data_output") is True,
        parameters=parameters,
    )
    return build_inputs(tensors, parameters, model, max_cells=max_cells), request


def _requested(outputs: Any) -> list[tuple[str, bool | None]] | None:
    if outputs is None or outputs == []:
        return None
    if not isinstance(outputs, list):
        raise bad_request("'outputs' must be a list of objects with a name")
    wanted = []
    for i, out in enumerate(outputs):
        if not isinstance(out, dict) or not isinstance(out.get("name"), str):
            raise bad_request(f"outputs[{i}] must be an object with a name")
        params = out.get("parameters")
        binary = params.get("binary_data") if isinstance(params, dict) else None
        wanted.append((out["name"], binary if isinstance(binary, bool) else None))
    return wanted


def build_inputs(
    tensors: list[tuple[str, np.ndarray]],
    parameters: dict[str, Any] | None,
    model: PyFuncModel,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> Inputs:
    """Decoded input tensors and request parameters as the input of ``model.predict``."""
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
    inputs.params = _declared_params(parameters, model)
    if inputs.key is not None and inputs.params:
        inputs.key = (*inputs.key, params_key(inputs.params))
    return inputs


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


def _declared_params(parameters: Any, model: PyFuncModel) -> dict[str, Any] | None:
    """Request parameters the model declares, and ``predict_method``; the rest
    (content_type, binary_data_output, ...) are protocol hints."""
    if not isinstance(parameters, dict) or not parameters:
        return None
    declared = {p.name for p in model.signature.params or ()} if model.signature else set()
    declared.add(_PREDICT_METHOD)
    return {k: v for k, v in parameters.items() if k in declared} or None


# ------------------------------------------------------------------------------ outputs
def output_names(model: PyFuncModel) -> list[str]:
    """The output names the metadata advertises (empty without an output schema)."""
    return [meta["name"] for meta in _schema_meta(model.output_schema, "output")]


def model_outputs(out: Any, model: PyFuncModel) -> list[Output]:
    """The output tensors of one prediction, named and typed as the metadata says."""
    declared = {m["name"]: m["datatype"] for m in _schema_meta(model.output_schema, "output")}
    if hasattr(out, "columns"):
        items = [(str(c), out[c]) for c in out.columns]
    elif isinstance(out, dict):
        items = [(str(k), v) for k, v in out.items()]
    else:
        names = list(declared) or ["output-0"]
        items = [(names[0] if len(names) == 1 else "output-0", out)]
    outputs = []
    for name, value in items:
        arr, datatype = _tensors.output_array(value, declared.get(name))
        outputs.append((name, arr, datatype))
    return outputs


def select_outputs(outputs: list[Output], wanted: list[str] | None) -> list[Output]:
    """The outputs a request names, in its order; all of them when it names none."""
    if not wanted:
        return outputs
    by_name = {o[0]: o for o in outputs}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise bad_request(
            f"unknown output(s) {', '.join(map(repr, missing))}; this model's outputs are "
            f"{', '.join(by_name)}"
        )
    return [by_name[n] for n in dict.fromkeys(wanted)]


def infer_response(
    out: Any, request: InferRequest, model: PyFuncModel, name: str, version: str | None
) -> tuple[bytes, int | None]:
    """The infer response body, and the length of its JSON header when binary outputs follow
    it (the value of the Inference-Header-Content-Length response header)."""
    wanted = [n for n, _ in request.outputs] if request.outputs else None
    binary = dict(request.outputs or ())
    tensors, raw = [], []
    for out_name, arr, datatype in select_outputs(model_outputs(out, model), wanted):
        tensor: dict[str, Any] = {"name": out_name, "datatype": datatype, "shape": list(arr.shape)}
        as_binary = binary.get(out_name)
        if as_binary if as_binary is not None else request.binary_output:
            data = _tensors.to_bytes(arr, datatype)
            tensor["parameters"] = {"binary_data_size": len(data)}
            raw.append(data)
        else:
            flat = arr.ravel()
            use_list = datatype == "BYTES" or not flat.flags.c_contiguous
            tensor["data"] = flat.tolist() if use_list else flat
        tensors.append(tensor)
    response: dict[str, Any] = {"model_name": name}
    if version:
        response["model_version"] = version
    if request.id is not None:
        response["id"] = request.id
    response["outputs"] = tensors
    head = dumps(response)
    if not raw:
        return head, None
    return b"".join([head, *raw]), len(head)
