"""Save, log and load XGBoost models (Booster and the scikit-learn API classes)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelpack._save import ModelInfo
    from modelpack._signature import SignatureLike

__all__ = ["load_model", "save_model"]


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
    from modelpack._save import SaveOptions, save

    return save(
        xgb_model,
        path,
        SaveOptions(
            flavor="xgboost",
            flavor_options={"model_format": model_format},
            preprocessor=preprocessor,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            code_paths=code_paths,
            metadata=metadata,
            overwrite=overwrite,
        ),
    )


def load_model(model_uri: str | Path) -> Any:
    """Load the native XGBoost object (its original class) of a model."""
    from modelpack._load import load_native

    return load_native(model_uri, "xgboost")
