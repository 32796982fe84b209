"""Save, log and load XGBoost models (Booster and the scikit-learn API classes)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._autolog import xgboost_autolog as autolog
from modelpack._wrappers import log_as, save_as

if TYPE_CHECKING:
    from modelpack._save import ModelInfo
    from modelpack._signature import SignatureLike

__all__ = ["autolog", "load_model", "log_model", "save_model"]


def save_model(
    xgb_model: Any,
    path: str | Path,
    *,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    model_format: str = "ubj",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> ModelInfo:
    """Save an XGBoost Booster or XGBModel in XGBoost's own format (``ubj`` or ``json``).

    A Booster trained on DictVectorizer output predicts straight from raw records when the
    DictVectorizer is passed as ``preprocessor``.
    """
    return save_as("xgboost", locals())


def log_model(
    xgb_model: Any,
    name: str = "model",
    *,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    model_format: str = "ubj",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    await_registration_for: int = 300,
) -> ModelInfo:
    """Log an XGBoost model into the active run (or a run of its own).

    Takes the arguments of :func:`save_model`, with ``name`` (the model's path inside the
    run) instead of a directory, and ``registered_model_name`` to also register it. Returns
    a ``ModelInfo`` whose ``model_uri`` is ``runs:/<run_id>/<name>``.
    """
    return log_as("xgboost", locals())


def load_model(model_uri: str | Path) -> Any:
    """Load the native XGBoost object (its original class) of a model."""
    from modelpack._load import load_native

    return load_native(model_uri, "xgboost")
