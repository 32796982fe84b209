"""``params`` of ``PyFuncModel.predict``: anything but a mapping is a SchemaError saying so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import modelpack
from modelpack.exceptions import SchemaError
from modelpack.pyfunc import PythonModel

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]


class Scale(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        factor = (params or {}).get("factor", 1.0)
        return model_input["x"].to_numpy() * factor


@pytest.fixture(scope="module", params=["with-params", "without-params"])
def model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("params") / "m"
    declared = {"factor": 2.0} if request.param == "with-params" else None
    sig = modelpack.infer_signature(pd.DataFrame({"x": [1.0]}), params=declared)
    modelpack.save_model(Scale(), path, signature=sig)
    return modelpack.load_model(path)


@pytest.mark.parametrize(
    "params",
    [[1], ["factor"], "factor", 3, ("factor", 2.0)],
    ids=["list-of-int", "list-of-str", "str", "int", "tuple"],
)
def test_params_that_are_not_a_mapping(model: Any, params: Any) -> None:
    with pytest.raises(SchemaError, match="params must be a mapping of parameter names") as info:
        model.predict([{"x": 3.0}], params=params)
    assert type(params).__name__ in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_string_parameter_names_are_named(model: Any) -> None:
    with pytest.raises(SchemaError, match="1"):
        model.predict([{"x": 3.0}], params={1: 2.0})


def test_a_mapping_still_works(tmp_path: Path) -> None:
    sig = modelpack.infer_signature(pd.DataFrame({"x": [1.0]}), params={"factor": 2.0})
    modelpack.save_model(Scale(), tmp_path / "s", signature=sig)
    model = modelpack.load_model(tmp_path / "s")
    assert model.predict([{"x": 3.0}], params={"factor": 10.0}).tolist() == [30.0]
    assert model.predict([{"x": 3.0}], params=None).tolist() == [6.0]
