"""Save, log and load scikit-learn models (estimators and Pipelines)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._autolog import sklearn_autolog as autolog
from modelpack._wrappers import log_as, save_as

if TYPE_CHECKING:
    from modelpack._save import ModelInfo
    from modelpack._signature import SignatureLike

__all__ = ["autolog", "load_model", "log_model", "save_model"]


def save_model(
    sk_model: Any,
    path: str | Path,
    *,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    serialization_format: str | None = None,
    predict_method: str = "predict",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> ModelInfo:
    """Save a fitted scikit-learn estimator as a model directory.

    Parameters
    ----------
    sk_model : estimator
        Any fitted estimator or Pipeline with ``predict``.
    path : str or Path
        Directory to create. An existing model is only replaced with ``overwrite=True``.
    preprocessor : object, optional
        A fitted transformer (DictVectorizer, ColumnTransformer, scaler, ...) applied before
        the model in ``predict``.
    signature, input_example
        The input/output schema, or an example to infer it from.
    serialization_format : {"skops", "cloudpickle", "pickle"}, optional
        Default: skops when installed and every type in the model is trusted, else cloudpickle.
    predict_method : str
        The method ``predict`` calls, e.g. ``"predict_proba"``.
    """
    return save_as("sklearn", locals())


def log_model(
    sk_model: Any,
    name: str = "model",
    *,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    serialization_format: str | None = None,
    predict_method: str = "predict",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    await_registration_for: int = 300,
) -> ModelInfo:
    """Log a fitted scikit-learn estimator into the active run (or a run of its own).

    Takes the arguments of :func:`save_model`, with ``name`` (the model's path inside the
    run) instead of a directory, and ``registered_model_name`` to also register it as the
    next version of that name. Returns a ``ModelInfo`` whose ``model_uri`` is
    ``runs:/<run_id>/<name>`` and, when registered, ``registered_model_version``.
    """
    return log_as("sklearn", locals())


def load_model(
    model_uri: str | Path,
    *,
    allow_pickle: bool | None = None,
    trusted_types: Sequence[str] | None = None,
    require_signature: str | os.PathLike[str] | bytes | None = None,
) -> Any:
    """Load the native scikit-learn estimator of a model (without its preprocessor).

    ``trusted_types`` and ``require_signature``: as for :func:`modelpack.load_model`.
    """
    from modelpack._load import load_native

    return load_native(
        model_uri,
        "sklearn",
        allow_pickle=allow_pickle,
        trusted_types=trusted_types,
        require_signature=require_signature,
    )
