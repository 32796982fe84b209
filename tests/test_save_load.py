"""Saving and loading through the core: atomic saves, overwrite, pickle policy, errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack import PythonModel
from modelpack._serialize import _announced
from modelpack.exceptions import (
    FlavorNotFoundError,
    MissingDependencyError,
    ModelExistsError,
    ModelNotFoundError,
    ModelpackWarning,
    UnsafeModelError,
)


def _listing(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_round_trip_taxi(taxi_model_dir: Path, taxi: Any, taxi_dv_lr: Any) -> None:
    frame, records, _ = taxi
    dv, lr = taxi_dv_lr
    model = modelpack.load_model(taxi_model_dir)
    expected = lr.predict(dv.transform(records[:20]))
    np.testing.assert_allclose(model.predict(frame.head(20)), expected)
    np.testing.assert_allclose(model.predict(records[:20]), expected)
    assert model.flavor == "sklearn"
    assert type(modelpack.sklearn.load_model(taxi_model_dir)).__name__ == "LinearRegression"


def test_save_refuses_to_overwrite(taxi_model_dir: Path, taxi_dv_lr: Any) -> None:
    before = (taxi_model_dir / "MLmodel").read_text()
    with pytest.raises(ModelExistsError, match="overwrite=True"):
        modelpack.save_model(taxi_dv_lr[1], taxi_model_dir)
    assert (taxi_model_dir / "MLmodel").read_text() == before


def test_overwrite_replaces_atomically(taxi_model_dir: Path, taxi_dv_lr: Any) -> None:
    old_uuid = modelpack.load_model(taxi_model_dir).metadata.model_uuid
    modelpack.save_model(taxi_dv_lr[1], taxi_model_dir, overwrite=True)
    model = modelpack.load_model(taxi_model_dir)
    assert model.metadata.model_uuid != old_uuid
    assert model.preprocessor is None  # the new model has none: nothing of the old one is left
    assert not (taxi_model_dir / "preprocessor.skops").exists()
    assert _listing(taxi_model_dir.parent) == ["modelpack-store", "taxi-model"] or _listing(
        taxi_model_dir.parent
    ) == ["taxi-model"]


class Unpicklable:
    def transform(self, x: Any) -> Any:
        return x

    def __reduce__(self) -> Any:
        raise RuntimeError("this object cannot be serialized")


def test_exception_during_save_leaves_nothing(tmp_path: Path, taxi_dv_lr: Any) -> None:
    target = tmp_path / "m"
    with pytest.raises(RuntimeError, match="cannot be serialized"):
        modelpack.save_model(taxi_dv_lr[1], target, preprocessor=Unpicklable())
    assert not target.exists()
    assert _listing(tmp_path) == []


def test_failed_overwrite_keeps_the_old_model(taxi_model_dir: Path, taxi_dv_lr: Any) -> None:
    before = modelpack.load_model(taxi_model_dir).metadata.model_uuid
    with pytest.raises(RuntimeError):
        modelpack.save_model(
            taxi_dv_lr[1], taxi_model_dir, preprocessor=Unpicklable(), overwrite=True
        )
    assert modelpack.load_model(taxi_model_dir).metadata.model_uuid == before
    assert _listing(taxi_model_dir.parent) == ["taxi-model"]


def test_preprocessor_must_transform(tmp_path: Path, taxi_dv_lr: Any) -> None:
    with pytest.raises(TypeError, match="transform"):
        modelpack.save_model(taxi_dv_lr[1], tmp_path / "m", preprocessor=object())
    assert not (tmp_path / "m").exists()


class Doubler(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input["x"].to_numpy() * 2


@pytest.fixture
def pickled_model(tmp_path: Path) -> Path:
    path = tmp_path / "custom"
    modelpack.save_model(Doubler(), path, input_example={"x": [1.0, 2.0]})
    return path


def test_pickle_load_is_announced_once(pickled_model: Path) -> None:
    _announced.clear()
    with pytest.warns(ModelpackWarning, match=r"python_model\.pkl.*can run code") as record:
        modelpack.load_model(pickled_model)
    assert record[0].filename == __file__  # attributed to the caller, not modelpack internals
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        modelpack.load_model(pickled_model)


def test_allow_pickle_false_refuses_before_loading(pickled_model: Path) -> None:
    with pytest.raises(UnsafeModelError, match=r"python_model\.pkl"):
        modelpack.load_model(pickled_model, allow_pickle=False)


def test_allow_pickle_env_var(pickled_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPACK_ALLOW_PICKLE", "0")
    with pytest.raises(UnsafeModelError, match="MODELPACK_ALLOW_PICKLE=0"):
        modelpack.load_model(pickled_model)


def test_safe_formats_load_without_pickle(
    taxi_model_dir: Path, tmp_path: Path, taxi_booster: Any, taxi_dv_lr: Any, taxi: Any
) -> None:
    model = modelpack.load_model(taxi_model_dir, allow_pickle=False)  # skops model + skops DV
    assert model.metadata.flavors["sklearn"]["serialization_format"] == "skops"
    modelpack.save_model(taxi_booster, tmp_path / "xgb", preprocessor=taxi_dv_lr[0])
    booster = modelpack.load_model(tmp_path / "xgb", allow_pickle=False)
    assert booster.predict(taxi[1][:3]).shape == (3,)


def test_cloudpickle_preprocessor_is_refused_too(tmp_path: Path, taxi_dv_lr: Any) -> None:
    from sklearn.preprocessing import FunctionTransformer

    pre = FunctionTransformer(lambda x: x)  # a lambda is not skops-trusted -> cloudpickle
    modelpack.save_model(taxi_dv_lr[1], tmp_path / "m", preprocessor=pre)
    with pytest.raises(UnsafeModelError, match=r"preprocessor\.pkl"):
        modelpack.load_model(tmp_path / "m", allow_pickle=False)


def test_unknown_flavor_in_manifest(taxi_model_dir: Path) -> None:
    import yaml

    from modelpack._integrity import compute_digests

    mlmodel = taxi_model_dir / "MLmodel"
    data = yaml.safe_load(mlmodel.read_text())
    data["flavors"]["python_function"]["flavor"] = "catboost_extreme"
    data["modelpack"]["files"] = compute_digests(taxi_model_dir)
    mlmodel.write_text(yaml.safe_dump(data))
    with pytest.raises(FlavorNotFoundError, match="no flavor named 'catboost_extreme'"):
        modelpack.load_model(taxi_model_dir)


def test_missing_optional_library_names_the_extra(
    tmp_path: Path, taxi_booster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    modelpack.save_model(taxi_booster, tmp_path / "xgb")
    monkeypatch.setitem(sys.modules, "xgboost", None)  # what an uninstalled library looks like
    with pytest.raises(MissingDependencyError, match=r'pip install "modelpack\[xgboost\]"') as info:
        modelpack.load_model(tmp_path / "xgb")
    assert info.value.extra == "xgboost"


def test_cannot_pick_a_flavor_for_unknown_objects(tmp_path: Path) -> None:
    with pytest.raises(FlavorNotFoundError, match="does not know how to save"):
        modelpack.save_model(42, tmp_path / "m")


def test_load_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        modelpack.load_model(tmp_path / "nope")


def test_requirements_are_pinned_and_minimal(taxi_model_dir: Path) -> None:
    lines = (taxi_model_dir / "requirements.txt").read_text().split()
    names = {line.split("==")[0] for line in lines}
    assert {"scikit-learn", "skops", "numpy", "modelpack"} <= names
    assert all("==" in line for line in lines)
    assert not names & {"pytest", "xgboost", "xgboost-cpu", "mlflow", "ipython"}


def test_pip_requirements_replace_and_extend(tmp_path: Path, taxi_dv_lr: Any) -> None:
    modelpack.save_model(
        taxi_dv_lr[1],
        tmp_path / "a",
        pip_requirements=["scikit-learn"],
        extra_pip_requirements=["x==1"],
    )
    assert (tmp_path / "a" / "requirements.txt").read_text().split() == ["scikit-learn", "x==1"]


def test_environment_files_have_mlflow_structure(taxi_model_dir: Path) -> None:
    import yaml

    python_env = yaml.safe_load((taxi_model_dir / "python_env.yaml").read_text())
    assert python_env["python"].count(".") == 2
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((taxi_model_dir / "conda.yaml").read_text())
    assert conda["dependencies"][0].startswith("python=")
    pip_deps = conda["dependencies"][-1]["pip"]
    assert pip_deps == (taxi_model_dir / "requirements.txt").read_text().split()


def test_custom_model_with_artifact(tmp_path: Path) -> None:
    lookup = tmp_path / "lookup.txt"
    lookup.write_text("10")

    class AddFromFile(PythonModel):
        def load_context(self, context: Any) -> None:
            self.offset = float(Path(context.artifacts["offset"]).read_text())

        def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return (model_input["x"] + self.offset).tolist()

    modelpack.save_model(
        AddFromFile(), tmp_path / "m", artifacts={"offset": str(lookup)}, input_example={"x": [1.0]}
    )
    lookup.unlink()  # the model carries its own copy
    os.chdir(tmp_path)
    model = modelpack.load_model(tmp_path / "m")
    assert model.predict([{"x": 1.0}, {"x": 2.5}]) == [11.0, 12.5]


def test_plain_callable(tmp_path: Path) -> None:
    modelpack.save_model(
        lambda df: (df["x"] * 3).tolist(), tmp_path / "f", input_example={"x": [1.0]}
    )
    assert modelpack.load_model(tmp_path / "f").predict({"x": [2.0]}) == [6.0]


def test_file_uri(taxi_model_dir: Path, taxi: Any) -> None:
    model = modelpack.load_model(taxi_model_dir.as_uri())
    assert model.predict(taxi[1][:2]).shape == (2,)


@pytest.mark.parametrize("kind", ["callable", "subclass"])
def test_models_pickled_with_the_old_pyfunc_names_load(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Custom models saved while these classes lived in modelpack.pyfunc name them there."""
    from modelpack import _python_model

    for cls in (_python_model.PythonModel, _python_model._FunctionModel):
        monkeypatch.setattr(cls, "__module__", "modelpack.pyfunc")

    class Local(PythonModel):  # a local class is pickled by value, its base by reference
        def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return model_input["x"].to_numpy() * 2

    model = (lambda df: (df["x"] * 3).tolist()) if kind == "callable" else Local()
    modelpack.save_model(model, tmp_path / "m", input_example={"x": [1.0]})
    monkeypatch.undo()
    assert b"modelpack.pyfunc" in (tmp_path / "m" / "python_model.pkl").read_bytes()
    loaded = modelpack.load_model(tmp_path / "m")
    assert list(loaded.predict({"x": [2.0]})) == ([6.0] if kind == "callable" else [4.0])
    assert isinstance(loaded.get_raw_model(), PythonModel)
