"""The ``sklearn`` flavor: any scikit-learn estimator or Pipeline.

Stored with skops when skops is installed and trusts every type in the object, with
cloudpickle otherwise; the choice is recorded as ``serialization_format`` exactly as MLflow
records it, so either tool can load the other's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelpack._optional import require
from modelpack._predict_methods import METHODS, available
from modelpack._preprocess import input_kind_of
from modelpack._serialize import PICKLE_FORMATS, dump_object, load_object
from modelpack.exceptions import ManifestError
from modelpack.flavors import Flavor, LoadContext, SaveContext

__all__ = ["SklearnFlavor", "SklearnPredictor"]


_PREDICT_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
)


def _is_sklearn(obj: Any) -> bool:
    return any(c.__module__.startswith("sklearn.") for c in type(obj).__mro__)


class SklearnPredictor:
    """Calls ``predict`` (or the method chosen when saving) of a fitted estimator; ``call``
    runs any other method it has that a caller asks for."""

    row_wise = True

    def __init__(self, model: Any, method: str = "predict") -> None:
        self.model = model
        self.input_kind = input_kind_of(model)
        self._predict = getattr(model, method)
        extra = () if method in METHODS else (method,)
        self.methods: tuple[str, ...] = available(model) + extra
        self.classes = getattr(model, "classes_", None)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data)

    def call(self, method: str, data: Any, params: dict[str, Any] | None = None) -> Any:
        return getattr(self.model, method)(data)


class SklearnFlavor(Flavor):
    name = "sklearn"
    extra = "sklearn"
    mlflow_module = "mlflow.sklearn"
    #: options ``save`` reads, which ``modelpack.save_model`` may also pass
    save_options = frozenset({"serialization_format", "predict_method"})

    def can_save(self, obj: Any) -> bool:
        return _is_sklearn(obj) and hasattr(obj, "predict")

    def save(self, obj: Any, ctx: SaveContext) -> dict[str, Any]:
        sklearn = require("sklearn", self.extra, purpose="saving a scikit-learn model")
        fmt = ctx.options.get("serialization_format")
        name, fmt = dump_object(obj, ctx.model_dir, "model", fmt=fmt)
        conf: dict[str, Any] = {
            "pickled_model": name,
            "serialization_format": fmt,
            "sklearn_version": sklearn.__version__,
            "code": None,
        }
        method = ctx.options.get("predict_method", "predict")
        if method != "predict":
            if not callable(getattr(obj, method, None)):
                # The name is recorded as the manifest's predict_fn, which must name a method.
                methods = [m for m in _PREDICT_METHODS if callable(getattr(obj, m, None))]
                raise ManifestError(
                    f"predict_method={method!r}: this {type(obj).__name__} has no such method; "
                    f"pass one it has ({', '.join(methods)})"
                )
            conf["predict_fn"] = method
        return conf

    def load(self, conf: dict[str, Any], ctx: LoadContext) -> Any:
        require("sklearn", self.extra, purpose="loading a scikit-learn model")
        fmt = conf.get("serialization_format", "pickle")
        # MLflow records skops_trusted_types in the manifest, but trust cannot come from the
        # file being judged: only the caller's trusted_types widen skops' defaults.
        return load_object(
            ctx.model_dir / conf["pickled_model"],
            fmt,
            allow_pickle=ctx.allow_pickle,
            trusted=list(ctx.trusted_types),
        )

    def predictor(self, native: Any, conf: dict[str, Any], model_dir: Path) -> SklearnPredictor:
        return SklearnPredictor(native, conf.get("predict_fn", "predict"))

    def requirements(self, conf: dict[str, Any]) -> list[str]:
        fmt = conf.get("serialization_format")
        return ["scikit-learn"] + ([fmt] if fmt in ("skops", "cloudpickle") else [])

    def uses_pickle(self, conf: dict[str, Any]) -> bool:
        return conf.get("serialization_format", "pickle") in PICKLE_FORMATS

    def data_path(self, conf: dict[str, Any]) -> str | None:
        return str(conf["pickled_model"])
