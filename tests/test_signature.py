from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelpack import ColSpec, Schema, Signature, TensorSpec, infer_signature
from modelpack._signature import ParamSpec, infer_schema
from modelpack.exceptions import SchemaError


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            pd.DataFrame({"a": ["x"], "b": [1.5], "c": [1], "d": [True]}),
            [("a", "string"), ("b", "double"), ("c", "long"), ("d", "boolean")],
            id="dataframe",
        ),
        pytest.param(
            [{"a": "x", "b": 1.5}, {"a": "y", "b": 2}],
            [("a", "string"), ("b", "double")],
            id="records-int-and-float-is-double",
        ),
        pytest.param({"a": [1, 2], "b": ["u", "v"]}, [("a", "long"), ("b", "string")], id="dict"),
        pytest.param(
            pd.DataFrame({"i": np.array([1], dtype=np.int32), "f": np.array([1], np.float32)}),
            [("i", "integer"), ("f", "float")],
            id="narrow-dtypes",
        ),
    ],
)
def test_infer_column_schema(data: object, expected: list[tuple[str, str]]) -> None:
    schema = infer_schema(data)
    assert [(s.name, s.type) for s in schema.columns()] == expected
    assert not schema.is_tensor


def test_infer_tensor_schema_from_ndarray() -> None:
    schema = infer_schema(np.zeros((5, 3), dtype=np.float32))
    assert schema.is_tensor
    assert schema.specs == (TensorSpec("float32", (-1, 3)),)


def test_infer_schema_refuses_mixed_column() -> None:
    with pytest.raises(SchemaError, match="column 'a'"):
        infer_schema([{"a": "x"}, {"a": 1}])


def test_signature_uses_mlflow_json_string_encoding() -> None:
    sig = infer_signature(pd.DataFrame({"a": ["x"], "b": [1.0]}), np.array([1.0]))
    encoded = sig.to_dict()
    assert set(encoded) == {"inputs", "outputs", "params"}
    assert json.loads(encoded["inputs"]) == [
        {"type": "string", "name": "a", "required": True},
        {"type": "double", "name": "b", "required": True},
    ]
    assert json.loads(encoded["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}
    ]
    assert encoded["params"] is None
    assert Signature.from_dict(encoded) == sig


def test_params_round_trip() -> None:
    sig = infer_signature({"a": [1.0]}, params={"alpha": 0.5, "mode": "fast"})
    assert sig.params == (ParamSpec("alpha", "double", 0.5), ParamSpec("mode", "string", "fast"))
    assert Signature.from_dict(sig.to_dict()).params == sig.params


def test_unknown_column_type_is_an_error() -> None:
    with pytest.raises(SchemaError, match="unknown column type 'decimal'"):
        ColSpec("decimal", "a")


def test_schema_cannot_mix_columns_and_tensors() -> None:
    with pytest.raises(SchemaError, match="not both"):
        Schema((ColSpec("double", "a"), TensorSpec("float64", (-1,))))


def test_invalid_schema_json_is_an_error() -> None:
    with pytest.raises(SchemaError, match="not valid JSON"):
        Schema.from_json("{nope")
