"""Model signatures: column and tensor schemas, MLflow's JSON encoding, inference from examples.

A signature is stored in ``MLmodel`` exactly as MLflow stores it: a mapping whose ``inputs``,
``outputs`` and ``params`` values are JSON strings. Reading input at predict time lives in
``_tables``, checking it against a signature in ``_enforce``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelpack.exceptions import SchemaError

__all__ = [
    "COLUMN_TYPES",
    "ColSpec",
    "ParamSpec",
    "Schema",
    "Signature",
    "SignatureLike",
    "TensorSpec",
    "dtype_type",
    "infer_schema",
    "infer_signature",
    "is_dataframe",
    "python_kind",
]

# MLflow's column type names and the numpy dtype each one means.
COLUMN_TYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


def is_dataframe(obj: object) -> bool:
    """True for a pandas DataFrame, tested without importing pandas."""
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _is_series(obj: object) -> bool:
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == "Series"


@dataclass(frozen=True)
class ColSpec:
    """One named column: its MLflow type name and whether it must be present."""

    type: str
    name: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise SchemaError(
                f"unknown column type {self.type!r}; expected one of {', '.join(COLUMN_TYPES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    """A tensor input or output: numpy dtype name and shape (``-1`` for any size)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)},
        }
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class Schema:
    """An ordered list of column specs, or of tensor specs (never a mix)."""

    specs: tuple[ColSpec | TensorSpec, ...]

    def __post_init__(self) -> None:
        kinds = {isinstance(s, TensorSpec) for s in self.specs}
        if len(kinds) > 1:
            raise SchemaError("a schema holds either columns or tensors, not both")

    @property
    def is_tensor(self) -> bool:
        return bool(self.specs) and isinstance(self.specs[0], TensorSpec)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs if s.name is not None]

    @property
    def has_names(self) -> bool:
        return bool(self.specs) and all(s.name is not None for s in self.specs)

    def columns(self) -> list[ColSpec]:
        return [s for s in self.specs if isinstance(s, ColSpec)]

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.specs])

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            items = json.loads(text)
        except (TypeError, ValueError) as e:
            raise SchemaError(f"signature schema is not valid JSON: {text!r}") from e
        specs: list[ColSpec | TensorSpec] = []
        for item in items:
            if item.get("type") == "tensor":
                spec = item["tensor-spec"]
                specs.append(TensorSpec(spec["dtype"], tuple(spec["shape"]), item.get("name")))
            elif item.get("type") in COLUMN_TYPES:
                specs.append(ColSpec(item["type"], item.get("name"), item.get("required", True)))
            else:
                # Types this version does not model (arrays, objects): keep the column as
                # an optional string-free passthrough rather than refusing the whole model.
                specs.append(ColSpec("string", item.get("name"), required=False))
        return cls(tuple(specs))


@dataclass(frozen=True)
class ParamSpec:
    """An inference parameter with its type and default."""

    name: str
    type: str
    default: Any = None
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "shape": list(self.shape) if self.shape is not None else None,
        }


@dataclass(frozen=True)
class Signature:
    """Inputs, outputs and parameters of a model."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: tuple[ParamSpec, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's encoding: each part a JSON string, ``params`` null when absent."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": json.dumps([p.to_dict() for p in self.params]) if self.params else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """MLflow's encoding back (each part a JSON string); a part of the wrong shape (a hand-
        edited or damaged manifest) is a SchemaError naming it, never a KeyError or the like."""
        try:
            return cls._from_dict(data)
        except SchemaError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise SchemaError(
                f"the signature is not valid ({type(e).__name__}: {e}): 'inputs' and 'outputs' "
                "must be JSON lists of column or tensor specs, 'params' a JSON list of "
                "{name, type, default} objects; restore the MLmodel from the model's source or "
                "save the model again"
            ) from e

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Signature:
        params = None
        if data.get("params"):
            params = tuple(
                ParamSpec(p["name"], p["type"], p.get("default"), _opt_shape(p.get("shape")))
                for p in json.loads(data["params"])
            )
        return cls(
            inputs=Schema.from_json(data["inputs"]) if data.get("inputs") else None,
            outputs=Schema.from_json(data["outputs"]) if data.get("outputs") else None,
            params=params,
        )


#: what ``signature=`` accepts: a Signature, its MLflow dict form, None to infer, False for none
SignatureLike = Signature | Mapping[str, Any] | bool | None


def _opt_shape(shape: Sequence[int] | None) -> tuple[int, ...] | None:
    return tuple(shape) if shape is not None else None


# ---------------------------------------------------------------------------- inference

_KIND_TYPES = {"b": "boolean", "f": "double", "M": "datetime"}


def dtype_type(dtype: np.dtype[Any]) -> str | None:
    """The MLflow column type a numpy dtype holds, or None when none fits."""
    if dtype.kind in "iu":
        return (
            "long"
            if dtype.itemsize > 4 or (dtype.kind == "u" and dtype.itemsize == 4)
            else "integer"
        )
    if dtype.kind == "f":
        return "float" if dtype.itemsize <= 4 else "double"
    if dtype.kind == "U":
        return "string"
    if dtype.kind == "S":
        return "binary"
    return _KIND_TYPES.get(dtype.kind)


def python_kind(values: Iterable[Any]) -> str | None:
    """The column type of Python values (``None`` and NaN ignored), or None when unknown/mixed."""
    kinds = {type(v) for v in values if v is not None}
    kinds.discard(type(None))
    if not kinds:
        return None
    if kinds <= {bool, np.bool_}:
        return "boolean"
    if kinds <= {int, np.int64, np.int32}:
        return "long"
    if kinds <= {int, float, np.float64, np.int64, np.float32}:
        return "double"
    if kinds <= {str, np.str_}:
        return "string"
    if kinds <= {bytes, bytearray}:
        return "binary"
    return None


def _column_type(name: str, values: Any) -> str:
    arr = values if isinstance(values, np.ndarray) else None
    if arr is None and hasattr(values, "to_numpy"):
        arr = values.to_numpy()
    if arr is not None and arr.dtype.kind != "O":
        found = dtype_type(arr.dtype)
    else:
        found = python_kind(values if arr is None else arr.tolist())
    if found is None:
        raise SchemaError(
            f"cannot infer a type for column {name!r}: its values are empty or of mixed or "
            "unsupported types; pass signature= explicitly",
            column=name,
        )
    return found


def infer_schema(data: Any) -> Schema:
    """Infer a schema from a DataFrame, records, a dict of columns or a numpy array."""
    if is_dataframe(data):
        return Schema(tuple(ColSpec(_column_type(str(c), data[c]), str(c)) for c in data.columns))
    if _is_series(data):
        return Schema((ColSpec(_column_type(str(data.name), data), data.name),))
    if isinstance(data, np.ndarray):
        if data.dtype.names:
            return Schema(tuple(ColSpec(_column_type(n, data[n]), n) for n in data.dtype.names))
        return Schema((TensorSpec(data.dtype.name, (-1, *data.shape[1:])),))
    if isinstance(data, Mapping):
        return Schema(
            tuple(ColSpec(_column_type(str(k), _as_list(v)), str(k)) for k, v in data.items())
        )
    if isinstance(data, Sequence) and data and all(isinstance(r, Mapping) for r in data):
        names: dict[str, None] = {}
        for record in data:
            names.update(dict.fromkeys(record))
        return Schema(tuple(ColSpec(_column_type(n, [r.get(n) for r in data]), n) for n in names))
    if hasattr(data, "tocsr"):  # scipy sparse matrix
        return Schema((TensorSpec(data.dtype.name, (-1, data.shape[1])),))
    if isinstance(data, Sequence):
        return infer_schema(np.asarray(data))
    raise SchemaError(
        f"cannot infer a schema from {type(data).__name__}; use a DataFrame, a list of records, "
        "a dict of columns or a numpy array"
    )


def _as_list(values: Any) -> Any:
    if isinstance(values, (np.ndarray, list, tuple)) or hasattr(values, "to_numpy"):
        return values
    return [values]


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> Signature:
    """Infer a :class:`Signature` from example inputs, outputs and parameters."""
    param_specs = None
    if params:
        param_specs = tuple(
            ParamSpec(k, python_kind([v]) or "string", v) for k, v in params.items()
        )
    outputs = None
    if model_output is not None:
        out = model_output
        if isinstance(out, list) and out and not isinstance(out[0], Mapping):
            out = np.asarray(out)
        outputs = infer_schema(out)
    return Signature(
        inputs=infer_schema(model_input) if model_input is not None else None,
        outputs=outputs,
        params=param_specs,
    )
