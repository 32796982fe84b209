"""The flavor-independent ``save_model`` and ``load_model``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._wrappers import log_as, save_as

if TYPE_CHECKING:
    from modelpack._save import ModelInfo
    from modelpack._signature import SignatureLike
    from modelpack.pyfunc import PyFuncModel

__all__ = ["load_model", "log_model", "save_model"]


def save_model(
    model: Any,
    path: str | Path,
    *,
    flavor: str | None = None,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    artifacts: Mapping[str, str] | None = None,
    serialization_format: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> ModelInfo:
    """Save any supported model object as a model directory.

    The flavor is picked from the object's type (XGBoost, scikit-learn, a
    :class:`~modelpack.pyfunc.PythonModel` or a plain callable) unless ``flavor`` names one.

    Parameters
    ----------
    model : object
        The fitted model.
    path : str or Path
        Directory to create; written atomically. An existing model is only replaced with
        ``overwrite=True``.
    preprocessor : object, optional
        A fitted transformer applied before the model in ``predict`` (a DictVectorizer gets
        dict records even when the caller passes a DataFrame).
    signature : Signature, dict, False or None
        The model's input/output schema; inferred from ``input_example`` when None; False
        for none.
    input_example : DataFrame, list of dicts, dict of columns or ndarray, optional
        Written as ``input_example.json`` and ``serving_input_example.json``.
    pip_requirements, extra_pip_requirements : list of str, optional
        Replace, or add to, the inferred pinned requirements.
    code_paths : list of str, optional
        Local files or packages copied into ``code/`` and put on ``sys.path`` at load.
    artifacts : dict, optional
        For custom models: files copied into the model, available as ``context.artifacts``.
    serialization_format : {"skops", "cloudpickle", "pickle"}, optional
        For scikit-learn models: how the estimator is written (see
        :func:`modelpack.sklearn.save_model`).
    metadata : dict, optional
        Free-form metadata stored in the manifest.
    overwrite : bool
        Replace an existing model at ``path``.

    Returns
    -------
    ModelInfo

    Raises
    ------
    TypeError
        ``artifacts`` or ``serialization_format`` is given but the model's flavor does not
        take it.
    """
    return save_as(None, locals())


def log_model(
    model: Any,
    name: str = "model",
    *,
    flavor: str | None = None,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    artifacts: Mapping[str, str] | None = None,
    serialization_format: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    await_registration_for: int = 300,
) -> ModelInfo:
    """Log any supported model into the active run (or a run of its own).

    Takes the arguments of :func:`save_model` with two differences:

    Parameters
    ----------
    name : str
        The model's path inside the run (default ``"model"``); the model is then
        ``runs:/<run_id>/<name>``.
    registered_model_name : str, optional
        Also register the logged model as the next version of this name.
    artifact_path : str, optional
        MLflow's older spelling of ``name``; when given, it names the model's path and
        ``name`` must be left at its default (or equal it).
    await_registration_for : int
        Accepted for MLflow's sake and unused: registration is complete when this returns.

    Returns
    -------
    ModelInfo
        ``model_uri`` is ``runs:/<run_id>/<name>``; ``run_id``, ``artifact_path`` and, when
        registered, ``registered_model_version`` are set.
    """
    return log_as(None, locals())


def load_model(
    model_uri: str | Path,
    *,
    allow_pickle: bool | None = None,
    strict_env: bool = False,
    trusted_types: Sequence[str] | None = None,
    require_signature: str | os.PathLike[str] | bytes | None = None,
) -> PyFuncModel:
    """Load any model by URI as a :class:`~modelpack.pyfunc.PyFuncModel`.

    Parameters
    ----------
    model_uri : str or Path
        A path, ``file://``, ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
        ``models:/<name>@<alias>``, ``models:/<name>/latest`` or ``models:/<name>/<stage>``.
    allow_pickle : bool, optional
        False refuses models that need pickle to load. Default: ``MODELPACK_ALLOW_PICKLE``
        (on unless set to 0).
    strict_env : bool
        Raise instead of warning when the running environment differs from the saved one.
    trusted_types : list of str, optional
        Types a skops file may construct beyond skops' defaults (``"module.Name"``); yours to
        decide, since a list in the model's own MLmodel is never trusted.
    require_signature : path or bytes, optional
        An Ed25519 public key (PEM file or bytes): the model must carry a valid signature of
        its manifest by the matching private key (``modelpack sign``).

    Every file loading opens is checked against its digest before anything is deserialized
    (see docs/security.md).
    """
    from modelpack._load import load_pyfunc

    return load_pyfunc(
        model_uri,
        allow_pickle=allow_pickle,
        strict_env=strict_env,
        trusted_types=trusted_types,
        require_signature=require_signature,
    )
