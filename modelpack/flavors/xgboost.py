"""The ``xgboost`` flavor: a Booster or one of XGBoost's scikit-learn classes.

Stored in XGBoost's own ``ubj`` (default) or ``json`` format, never pickled; the native class
comes back on native load. The manifest entry uses MLflow's keys (``data``, ``model_class``,
``model_format``, ``xgb_version``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from modelpack._manifest import MLMODEL_FILE
from modelpack._optional import require
from modelpack._predict_methods import available
from modelpack._preprocess import input_kind_of
from modelpack.exceptions import ManifestError
from modelpack.flavors import Flavor, LoadContext, SaveContext

__all__ = ["XGBoostFlavor", "XGBoostPredictor"]

_FORMATS = ("ubj", "json")


class XGBoostPredictor:
    """Predicts with ``inplace_predict`` (no DMatrix copy) where XGBoost allows it."""

    row_wise = True

    def __init__(self, model: Any) -> None:
        self.model = model
        self._booster = type(model).__name__ == "Booster"
        if self._booster:
            self.input_kind = "frame" if model.feature_names and model.feature_types else "array"
        else:
            self.input_kind = input_kind_of(model)
        # a Booster predicts only; the scikit-learn classes add predict_proba (classifiers)
        self.methods: tuple[str, ...] = ("predict",) if self._booster else available(model)
        self.classes = None if self._booster else getattr(model, "classes_", None)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if not self._booster:
            return self.model.predict(data)
        try:
            return self.model.inplace_predict(data)
        except (TypeError, ValueError):
            import xgboost as xgb

            return self.model.predict(xgb.DMatrix(data))

    def call(self, method: str, data: Any, params: dict[str, Any] | None = None) -> Any:
        if method == "predict":
            return self.predict(data, params)
        return getattr(self.model, method)(data)


class XGBoostFlavor(Flavor):
    name = "xgboost"
    extra = "xgboost"
    mlflow_module = "mlflow.xgboost"
    save_options = frozenset({"model_format"})

    def can_save(self, obj: Any) -> bool:
        return type(obj).__module__.startswith("xgboost.")

    def save(self, obj: Any, ctx: SaveContext) -> dict[str, Any]:
        xgb = require("xgboost", self.extra, purpose="saving an XGBoost model")
        fmt = ctx.options.get("model_format") or "ubj"
        if fmt not in _FORMATS:
            # The value is written as the manifest's model_format, which allows only these.
            raise ManifestError(
                f"model_format={fmt!r} is not a format XGBoost saves in; pass "
                f"model_format='ubj' (the default, compact) or 'json' (readable)"
            )
        name = f"model.{fmt}"
        obj.save_model(str(ctx.model_dir / name))
        cls = type(obj)
        return {
            "data": name,
            "model_class": f"{cls.__module__}.{cls.__qualname__}",
            "model_format": fmt,
            "xgb_version": xgb.__version__,
            "code": None,
        }

    def load(self, conf: dict[str, Any], ctx: LoadContext) -> Any:
        require("xgboost", self.extra, purpose="loading an XGBoost model")
        module, _, attr = conf.get("model_class", "xgboost.core.Booster").rpartition(".")
        if module.split(".")[0] != "xgboost":
            # A manifest must not make us import and instantiate an arbitrary class.
            path = ctx.model_dir / MLMODEL_FILE
            raise ManifestError(
                f"{path}: the xgboost flavor's model_class {module}.{attr} is not an XGBoost "
                "class, so modelpack will not import it; set it to the class the model was "
                "saved from (e.g. xgboost.core.Booster) or save the model again",
                path=str(path),
            )
        model = getattr(importlib.import_module(module), attr)()
        model.load_model(str(ctx.model_dir / conf["data"]))
        return model

    def predictor(self, native: Any, conf: dict[str, Any], model_dir: Path) -> XGBoostPredictor:
        return XGBoostPredictor(native)

    def requirements(self, conf: dict[str, Any]) -> list[str]:
        from modelpack._env import distribution_of

        return [distribution_of("xgboost") or "xgboost"]

    def data_path(self, conf: dict[str, Any]) -> str | None:
        return str(conf["data"])
