"""Bad input reaches modelpack's error kinds, never a bare built-in (issue 13, item 9): a
hand-edited or crafted manifest is a ManifestError or SchemaError naming the field, and a
malformed predict input a SchemaError naming the row; both stay ValueErrors for old callers."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelpack
from modelpack.exceptions import ManifestError, SchemaError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    x = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, 3]})
    path = tmp_path_factory.mktemp("input-errors") / "model"
    modelpack.save_model(LinearRegression().fit(x, [1.0, 2.0, 3.0]), path, input_example=x)
    return path


@pytest.fixture
def model_dir(tmp_path: Path, saved: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(saved, copy)
    return copy


def _edit(model_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load((model_dir / "MLmodel").read_text())
    change(doc)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(doc))


def _set_signature(part: str, text: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["signature"].__setitem__(part, text)


SIGNATURES = {
    "inputs-list-of-numbers": _set_signature("inputs", "[1, 2]"),
    "inputs-an-object": _set_signature("inputs", '{"a": "double"}'),
    "inputs-tensor-without-spec": _set_signature("inputs", '[{"type": "tensor"}]'),
    "params-without-type": _set_signature("params", '[{"name": "p"}]'),
    "params-a-number": _set_signature("params", "5"),
}


@pytest.mark.parametrize("case", list(SIGNATURES), ids=list(SIGNATURES))
def test_a_damaged_signature_is_a_schema_error(model_dir: Path, case: str) -> None:
    _edit(model_dir, SIGNATURES[case])
    with pytest.raises(SchemaError, match="the signature is not valid") as caught:
        modelpack.load_model(model_dir)
    assert isinstance(caught.value, ValueError)
    assert "save the model again" in str(caught.value)


@pytest.mark.parametrize("method", [5, "__class__", "__reduce__", "predict; rm", ""])
def test_predict_fn_must_name_a_public_method(model_dir: Path, method: Any) -> None:
    _edit(model_dir, lambda doc: doc["flavors"]["sklearn"].__setitem__("predict_fn", method))
    with pytest.raises(ManifestError, match=r"flavors\.sklearn\.predict_fn' must name a public"):
        modelpack.load_model(model_dir)
    with pytest.raises(ManifestError, match="predict_fn"):
        modelpack.sklearn.load_model(model_dir)


def test_mlflows_predict_fn_is_checked_too(model_dir: Path) -> None:
    _edit(model_dir, lambda doc: doc["flavors"]["python_function"].__setitem__("predict_fn", 7))
    with pytest.raises(ManifestError, match="must name a public method"):
        modelpack.load_model(model_dir)


BAD_INPUTS: dict[str, tuple[Any, str]] = {
    "ragged-rows": ([[1.0, 2], [1.0]], "the rows do not form a table"),
    "record-not-a-dict": ([{"a": 1.0, "b": 1}, 5], "record 1 is int"),
    "record-a-list": ([{"a": 1.0, "b": 1}, {"a": 2.0, "b": 2}, [3.0, 3]], "record 2 is list"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_malformed_predict_input_is_a_schema_error(saved: Path, case: str) -> None:
    data, fragment = BAD_INPUTS[case]
    model = modelpack.load_model(saved)
    with pytest.raises(SchemaError, match=fragment) as caught:
        model.predict(data)
    assert isinstance(caught.value, ValueError)
