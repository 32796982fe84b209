"""log_model for every flavor: where it writes, what it returns, what it records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._manifest import read_manifest
from modelpack.exceptions import ModelExistsError, StoreError

# pickled custom models warn on load by design; every other warning fails the test
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]


def test_sklearn_log_model_with_preprocessor_and_registration(taxi: Any, taxi_dv_lr: Any) -> None:
    frame, records, _ = taxi
    dv, lr = taxi_dv_lr
    with modelpack.start_run(tags={"developer": "ana"}) as run:
        info = modelpack.sklearn.log_model(
            lr, "model", preprocessor=dv, input_example=frame.head(2),
            registered_model_name="nyc-taxi-regressor",
        )  # fmt: skip
    assert info.model_uri == f"runs:/{run.run_id}/model"
    assert info.run_id == run.run_id and info.artifact_path == "model"
    assert info.registered_model_version == 1
    assert "sklearn" in info.flavors and info.signature is not None
    model_dir = Path(info.model_dir)
    assert model_dir == Path(run.info.artifact_uri) / "model"
    manifest = read_manifest(model_dir)
    assert manifest.run_id == run.run_id and manifest.artifact_path == "model"
    assert modelpack.get_run(run.run_id).logged_models == ("model",)

    modelpack.set_alias("nyc-taxi-regressor", "champion", 1)
    expected = lr.predict(dv.transform(records[:5]))
    for uri in (info.model_uri, "models:/nyc-taxi-regressor@champion"):
        got = modelpack.load_model(uri).predict(records[:5])
        np.testing.assert_allclose(got, expected)


def test_xgboost_log_model(taxi: Any, taxi_dv_lr: Any, taxi_booster: Any) -> None:
    _, records, _ = taxi
    dv, _ = taxi_dv_lr
    with modelpack.start_run():
        info = modelpack.xgboost.log_model(taxi_booster, "booster", preprocessor=dv)
    loaded = modelpack.load_model(info.model_uri)
    assert loaded.flavor == "xgboost"
    assert np.asarray(loaded.predict(records[:3])).shape == (3,)
    assert type(modelpack.xgboost.load_model(info.model_uri)).__name__ == "Booster"


class _Doubler(modelpack.PythonModel):
    input_kind = "any"

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return [2 * x for x in model_input]


def test_pyfunc_and_generic_log_model(tiny: Any) -> None:
    lr, X = tiny
    with modelpack.start_run() as run:
        custom = modelpack.pyfunc.log_model(_Doubler(), "custom")
        generic = modelpack.log_model(lr, "generic", input_example=X[:2])
        nested = modelpack.log_model(lr, "models/nested", registered_model_name="tiny")
    assert modelpack.load_model(custom.model_uri).predict([1, 2]) == [2, 4]
    np.testing.assert_allclose(modelpack.load_model(generic.model_uri).predict(X), lr.predict(X))
    assert nested.model_uri == f"runs:/{run.run_id}/models/nested"
    np.testing.assert_allclose(modelpack.load_model("models:/tiny/1").predict(X), lr.predict(X))
    assert modelpack.get_run(run.run_id).logged_models == ("custom", "generic", "models/nested")


def test_log_model_outside_a_run_makes_a_run_for_the_call(tiny: Any) -> None:
    info = modelpack.sklearn.log_model(tiny[0], "model")
    assert modelpack.active_run() is None
    run = modelpack.get_run(info.run_id or "")
    assert run.info.status == "FINISHED" and run.logged_models == ("model",)


def test_the_same_name_twice_in_a_run_is_refused(tiny: Any) -> None:
    lr, _ = tiny
    with modelpack.start_run() as run:
        first = modelpack.log_model(lr, "model")
        with pytest.raises(ModelExistsError, match="already has a model named 'model'"):
            modelpack.log_model(lr, "model")
    assert modelpack.get_run(run.run_id).logged_models == ("model",)
    assert modelpack.load_model(first.model_uri) is not None


@pytest.mark.parametrize("name", ["", "/abs", "../escape", "a/../../b"])
def test_invalid_names_are_refused(tiny: Any, name: str) -> None:
    with modelpack.start_run(), pytest.raises(StoreError, match="relative path"):
        modelpack.log_model(tiny[0], name)


def test_a_failed_save_records_nothing(tiny: Any) -> None:
    with pytest.raises(TypeError), modelpack.start_run() as run:
        modelpack.log_model(tiny[0], "model", preprocessor=object())
    assert modelpack.get_run(run.run_id).logged_models == ()
    assert modelpack.get_run(run.run_id).info.status == "FAILED"
    assert not (Path(run.info.artifact_uri) / "model").exists()
    assert modelpack.search_registered_models() == []


def test_an_invalid_registered_name_is_refused_before_saving(tiny: Any) -> None:
    with modelpack.start_run() as run, pytest.raises(StoreError, match="reserved"):
        modelpack.log_model(tiny[0], "model", registered_model_name="a/b")
    assert not (Path(run.info.artifact_uri) / "model").exists()
