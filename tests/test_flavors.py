"""The flavor registry and the built-in flavors' own errors: kinds a caller can catch, with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelpack.exceptions import FlavorExistsError, ManifestError, ModelpackError
from modelpack.flavors import Flavor, LoadContext, SaveContext, get_flavor, register_flavor


class _Impostor(Flavor):
    name = "xgboost"

    def save(self, obj: Any, ctx: SaveContext) -> dict[str, Any]:
        return {}

    def load(self, conf: dict[str, Any], ctx: LoadContext) -> Any:
        return None

    def predictor(self, native: Any, conf: dict[str, Any], model_dir: Path) -> Any:
        return None


def test_registering_a_taken_name_raises_flavor_exists() -> None:
    with pytest.raises(FlavorExistsError, match="already registered") as info:
        register_flavor(_Impostor)
    assert isinstance(info.value, ModelpackError) and isinstance(info.value, ValueError)
    assert info.value.flavor == "xgboost"
    assert "modelpack.flavors.xgboost:XGBoostFlavor" in str(info.value)
    assert "another name" in str(info.value)


def test_xgboost_unknown_model_format_names_the_choices(tmp_path: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    import numpy as np

    booster = xgb.train({}, xgb.DMatrix(np.eye(3), label=[0.0, 1.0, 2.0]), num_boost_round=1)
    ctx = SaveContext(tmp_path, options={"model_format": "pkl"})
    with pytest.raises(ManifestError, match="model_format='ubj'") as info:
        get_flavor("xgboost").save(booster, ctx)
    assert "'json'" in str(info.value) and "'pkl'" in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("model_class", ["builtins.dict", "os.system"], ids=["dict", "os-system"])
def test_xgboost_manifest_naming_a_foreign_class_is_refused(
    tmp_path: Path, model_class: str
) -> None:
    pytest.importorskip("xgboost")
    conf = {"model_class": model_class, "data": "model.ubj"}
    with pytest.raises(ManifestError, match="is not an XGBoost class") as info:
        get_flavor("xgboost").load(conf, LoadContext(tmp_path))
    assert info.value.path == str(tmp_path / "MLmodel")
    assert "xgboost.core.Booster" in str(info.value)
