"""Autologging: record parameters, metrics and the model of every training call, as MLflow does.

``autolog()`` turns on every integration whose library is installed; ``sklearn_autolog()`` and
``xgboost_autolog()`` turn on (or, with ``disable=True``, off) one each, with MLflow 3's
arguments. The library is imported and patched when its integration is enabled, never by
importing this module. A training call logs into the active run, or into a run of its own
that ends with it; logging never changes what the training returns or raises.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from typing import Any

from modelpack._autolog import _patch
from modelpack._autolog._session import Settings, set_settings
from modelpack._optional import require
from modelpack.exceptions import warn

__all__ = ["autolog", "sklearn_autolog", "xgboost_autolog"]

_SERIALIZATION_FORMATS = (None, "skops", "cloudpickle", "pickle")
_MODEL_FORMATS = ("ubj", "json")


def autolog(
    *,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: Mapping[str, Any] | None = None,
    exclude_flavors: Iterable[str] | None = None,
) -> None:
    """Enable (or disable) autologging for every supported library that is installed.

    Supported: scikit-learn (``"sklearn"``) and XGBoost (``"xgboost"``). A library that is
    not installed is skipped. Each integration then works as its own ``autolog`` function
    with these arguments and its other defaults.

    Parameters
    ----------
    log_input_examples : bool
        Log the first rows of the training input as the model's input example.
    log_model_signatures : bool
        Infer the model's signature by predicting those rows, and log it.
    log_models : bool
        Log the trained model as ``runs:/<run_id>/model``.
    log_datasets, log_traces : bool
        Accepted for compatibility with MLflow; modelpack records neither.
    disable : bool
        Turn autologging off and restore the libraries' original functions.
    exclusive : bool
        Do not log into runs the user started; only into runs autolog starts itself.
    disable_for_unsupported_versions : bool
        Leave a library alone when its version is outside the tested range.
    silent : bool
        Show no modelpack warnings during autologging.
    extra_tags : dict, optional
        Tags for the runs autolog starts.
    exclude_flavors : list of str, optional
        Integrations this call leaves as they are, e.g. ``["xgboost"]``.
    """
    del log_traces  # a GenAI feature of MLflow; nothing to trace here
    excluded = set(exclude_flavors or ())
    for name, enable in (("sklearn", sklearn_autolog), ("xgboost", xgboost_autolog)):
        if name in excluded or importlib.util.find_spec(name) is None:
            continue
        enable(
            log_input_examples=log_input_examples,
            log_model_signatures=log_model_signatures,
            log_models=log_models,
            log_datasets=log_datasets,
            disable=disable,
            exclusive=exclusive,
            disable_for_unsupported_versions=disable_for_unsupported_versions,
            silent=silent,
            extra_tags=extra_tags,
        )


def sklearn_autolog(
    *,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: Mapping[str, Any] | None = None,
) -> None:
    """Enable (or disable) autologging of scikit-learn ``fit``, ``fit_transform``, ``fit_predict``.

    The outermost fit logs (a Pipeline once, not each step): ``get_params(deep=True)``, the
    ``estimator_name`` and ``estimator_class`` tags, ``training_score`` and, for classifiers,
    ``training_{accuracy_score,precision_score,recall_score,f1_score,log_loss,roc_auc}`` or,
    for regressors, ``training_{mean_squared_error,root_mean_squared_error,
    mean_absolute_error,r2_score}``, and the fitted model. GridSearchCV and
    RandomizedSearchCV also log ``best_<param>`` params, ``best_cv_score``, the
    ``best_estimator`` model and a child run for each of the best ``max_tuning_runs``
    candidates (None: all).

    Parameters are those of :func:`autolog`, plus:

    Parameters
    ----------
    max_tuning_runs : int or None
        How many candidates of a parameter search get a child run (default 5).
    log_post_training_metrics : bool
        Accepted for compatibility with MLflow; metrics computed after training are not
        recorded automatically.
    serialization_format : {"skops", "cloudpickle", "pickle"}, optional
        How the model is stored (default: modelpack's choice, skops when the model allows it).
    registered_model_name : str, optional
        Register every logged model as a new version of this name.
    pos_label : optional
        The positive class for binary precision, recall and F1 (default: weighted averages).
    """
    del log_datasets, log_post_training_metrics  # not recorded by modelpack (see docstring)
    if disable:
        _disable("sklearn")
        return
    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise ValueError(f"max_tuning_runs must be None or at least 0, got {max_tuning_runs}")
    if serialization_format not in _SERIALIZATION_FORMATS:
        raise ValueError(
            f"serialization_format must be 'skops', 'cloudpickle' or 'pickle', got "
            f"{serialization_format!r}"
        )
    settings = Settings(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        exclusive=exclusive,
        silent=silent,
        registered_model_name=registered_model_name,
        extra_tags=_tags(extra_tags),
        max_tuning_runs=max_tuning_runs,
        serialization_format=serialization_format,
        pos_label=pos_label,
    )
    _enable("sklearn", settings, disable_for_unsupported_versions)


def xgboost_autolog(
    *,
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: Mapping[str, Any] | None = None,
) -> None:
    """Enable (or disable) autologging of ``xgboost.train`` and the scikit-learn classes' ``fit``.

    Logs the booster parameters and the other arguments of ``train``, the evaluation metrics
    of every round (``<eval name>-<metric>``, e.g. ``validation_0-rmse`` for an ``eval_set``,
    at ``step`` = round), ``stopped_iteration`` and ``best_iteration`` with early stopping,
    and the model (a Booster, or the scikit-learn object that was fitted).

    Parameters are those of :func:`autolog`, plus:

    Parameters
    ----------
    importance_types : list of str, optional
        Accepted for compatibility with MLflow; feature importances are not recorded yet.
    registered_model_name : str, optional
        Register every logged model as a new version of this name.
    model_format : {"ubj", "json"}
        The file format of the saved model.
    """
    del importance_types, log_datasets  # not recorded by modelpack (see docstring)
    if disable:
        _disable("xgboost")
        return
    if model_format not in _MODEL_FORMATS:
        raise ValueError(f"model_format must be 'ubj' or 'json', got {model_format!r}")
    settings = Settings(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        exclusive=exclusive,
        silent=silent,
        registered_model_name=registered_model_name,
        extra_tags=_tags(extra_tags),
        model_format=model_format,
    )
    _enable("xgboost", settings, disable_for_unsupported_versions)


def _tags(tags: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (tags or {}).items())


def _integration(name: str) -> Any:
    if name == "sklearn":
        from modelpack._autolog import _sklearn

        return _sklearn
    from modelpack._autolog import _xgboost

    return _xgboost


def _disable(name: str) -> None:
    set_settings(name, None)
    if _patch.installed(name):
        _integration(name).disable()


def _enable(name: str, settings: Settings, disable_for_unsupported_versions: bool) -> None:
    from packaging.version import Version

    library = "scikit-learn" if name == "sklearn" else "XGBoost"
    module = require(name, name, purpose=f"{library} autologging")
    integration = _integration(name)
    low, high = integration.SUPPORTED
    version = Version(module.__version__)
    if not Version(low) <= version < Version(high):
        if disable_for_unsupported_versions:
            _disable(name)
            return
        if not settings.silent:
            warn(
                f"{library} {module.__version__} is outside the versions modelpack's autologging "
                f"is tested with (>={low}, <{high}); if logging fails, use a version in that range"
            )
    integration.enable()
    set_settings(name, settings)
