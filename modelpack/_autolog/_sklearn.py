"""scikit-learn autologging: what ``fit``, ``fit_transform`` and ``fit_predict`` record.

The estimators patched are those ``sklearn.utils.all_estimators()`` lists (found once per
process), plus Pipeline and the parameter searches, minus pure data-preparation classes
(preprocessing, imputation, feature extraction and selection, ColumnTransformer), as MLflow
does. A run gets the estimator's parameters, the ``estimator_name``/``estimator_class`` tags,
``training_*`` metrics and the fitted model; a parameter search also gets ``best_*`` params,
``best_cv_score``, the best estimator and one child run per top candidate.
"""

from __future__ import annotations

import functools
from types import FunctionType
from typing import Any

import modelpack
from modelpack._autolog import _patch
from modelpack._autolog._inputs import fit_inputs, head, model_inputs, reusable
from modelpack._autolog._session import (
    AUTOLOG_TAG,
    Attempt,
    as_params,
    estimator_tags,
    is_active,
    run_autologged,
    suppressed,
)
from modelpack._autolog._sklearn_metrics import training_metrics

__all__ = ["INTEGRATION", "SUPPORTED", "disable", "enable"]

INTEGRATION = "sklearn"
SUPPORTED = ("1.3", "1.10")  # [lowest, first unsupported); tested with 1.9
FIT_METHODS = ("fit", "fit_transform", "fit_predict")
_EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)
# Functions that fit clones of an estimator many times: not one run per fold.
_NOT_AUTOLOGGED = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)
# ... and the helpers they (and searches) call, so that folds fitted in joblib worker threads,
# where this thread's nesting depth is not visible, are not logged either.
_NOT_AUTOLOGGED_HELPERS = ("_fit_and_score", "_fit_and_predict", "_permutation_test_score")


@functools.cache
def _estimator_classes() -> tuple[type, ...]:
    """The classes to patch; all_estimators() imports all of scikit-learn, so only once."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    found = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    kept = [
        cls
        for cls in found
        if not cls.__module__.startswith(_EXCLUDED_MODULES)
        and f"{cls.__module__}.{cls.__name__}" not in _EXCLUDED_CLASSES
    ]
    return tuple(sorted(kept, key=lambda c: (c.__module__, c.__qualname__)))


def enable() -> None:
    """Install the wrappers (once; settings are read at each call)."""
    if _patch.installed(INTEGRATION):
        return
    import sklearn.model_selection
    from sklearn.model_selection import _search, _validation

    for cls in _estimator_classes():
        for name in FIT_METHODS:
            _patch.patch_method(INTEGRATION, cls, name, _fit_wrapper)
    for module in (sklearn.model_selection, _validation):
        for name in _NOT_AUTOLOGGED:
            if callable(getattr(module, name, None)):
                _patch.patch_attribute(
                    INTEGRATION, module, name, _unlogged_wrapper(getattr(module, name))
                )
    for module in (_validation, _search):
        for name in _NOT_AUTOLOGGED_HELPERS:
            if callable(getattr(module, name, None)):
                _patch.patch_attribute(
                    INTEGRATION, module, name, _unlogged_wrapper(getattr(module, name))
                )


def disable() -> None:
    _patch.revert(INTEGRATION)


def _fit_wrapper(original: FunctionType) -> Any:
    @functools.wraps(original)
    def fit_with_autolog(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_active(INTEGRATION):
            return original(self, *args, **kwargs)
        return run_autologged(
            INTEGRATION,
            f"{type(self).__name__}.{original.__name__}",
            lambda attempt: _EstimatorFit(self, original, args, kwargs, attempt),
            lambda hooks: original(self, *args, **kwargs),
        )

    return fit_with_autolog


def _unlogged_wrapper(original: Any) -> Any:
    @functools.wraps(original)
    def without_autolog(*args: Any, **kwargs: Any) -> Any:
        with suppressed():
            return original(*args, **kwargs)

    return without_autolog


def _is_search(estimator: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


class _EstimatorFit:
    """Logging around one outermost ``fit`` (or ``fit_transform``/``fit_predict``)."""

    def __init__(self, estimator: Any, fit: Any, args: Any, kwargs: Any, attempt: Attempt):
        self.estimator = estimator
        self.attempt = attempt
        self.inputs = fit_inputs(fit, args, kwargs)
        self.search = _is_search(estimator)
        settings = attempt.settings
        wants_rows = settings.log_input_examples or settings.log_model_signatures
        self.example = head(self.inputs.X) if settings.log_models and wants_rows else None

    def before(self) -> None:
        # A search's own estimator is only the seed of the search: its untuned parameters
        # would mislead, so a search logs its own parameters only (as MLflow does).
        params = self.estimator.get_params(deep=not self.search)
        modelpack.log_params(as_params(params))
        modelpack.set_tags(estimator_tags(self.estimator))

    def after(self, result: Any) -> None:
        est, attempt, (X, y, weight) = self.estimator, self.attempt, self.inputs
        # a search fitted with refit=False has no best estimator: it cannot predict
        can_predict = not self.search or hasattr(est, "best_estimator_")
        metrics: dict[str, float] = {}
        if y is not None and can_predict and reusable(X):
            pos_label = attempt.settings.pos_label
            found = attempt.run("training metrics", training_metrics, est, X, y, weight, pos_label)
            metrics.update(found or {})
        if self.search and hasattr(est, "best_score_"):
            metrics["best_cv_score"] = float(est.best_score_)
        if metrics:
            attempt.run("training metrics", modelpack.log_metrics, metrics)
        if self.search and hasattr(est, "best_params_"):
            best = {f"best_{k}": v for k, v in est.best_params_.items()}
            attempt.run("the best parameters", modelpack.log_params, as_params(best))
        if self.search and hasattr(est, "cv_results_"):
            attempt.run("the child runs of the search", _log_candidates, est, attempt)
        if attempt.settings.log_models and can_predict:
            self._log_models()

    def _log_models(self) -> None:
        est, attempt = self.estimator, self.attempt
        method = _predict_method(est)
        example, signature = model_inputs(
            attempt, lambda rows: getattr(est, method)(rows), self.example
        )
        registered = attempt.settings.registered_model_name
        attempt.run("the model", _log_model, est, "model", example, signature, attempt, registered)
        if self.search and hasattr(est, "best_estimator_"):
            attempt.run(
                "the best estimator",
                _log_model,
                est.best_estimator_,
                "best_estimator",
                example,
                signature,
                attempt,
                None,
            )


def _predict_method(model: Any) -> str:
    """``predict``, or ``transform`` for a fitted transformer (its pyfunc predict transforms)."""
    if hasattr(model, "predict") or not hasattr(model, "transform"):
        return "predict"
    return "transform"


def _log_model(
    model: Any,
    name: str,
    example: Any,
    signature: Any,
    attempt: Attempt,
    registered_model_name: str | None,
) -> None:
    modelpack.sklearn.log_model(
        model,
        name,
        signature=signature,
        input_example=example,
        serialization_format=attempt.settings.serialization_format,
        predict_method=_predict_method(model),
        registered_model_name=registered_model_name,
    )


def _log_candidates(search: Any, attempt: Attempt) -> None:
    """One child run per candidate of the search, the best ``max_tuning_runs`` of them.

    Each gets the seed estimator's parameters with the candidate's values, and the numeric
    columns of ``cv_results_`` except per-split scores and the ``param_*`` copies.
    """
    results = search.cv_results_
    candidates = results["params"]
    rank_key = next(
        (k for k in ("rank_test_score", *results) if k.startswith("rank_test_") and k in results),
        None,
    )
    order = list(range(len(candidates)))
    if rank_key is not None:
        order.sort(key=lambda i: (results[rank_key][i], i))
    limit = attempt.settings.max_tuning_runs
    if limit is not None:
        order = order[:limit]
    seed = search.estimator
    base = seed.get_params(deep=not _is_search(seed))
    metric_keys = [
        k
        for k, v in results.items()
        if not k.startswith(("param", "split"))
        and getattr(v, "dtype", None) is not None
        and v.dtype.kind in "iuf"
    ]
    tags = {
        AUTOLOG_TAG: INTEGRATION,
        **dict(attempt.settings.extra_tags),
        **estimator_tags(seed),
    }
    for i in order:
        with modelpack.start_run(nested=True, tags=tags):
            modelpack.log_params(as_params({**base, **candidates[i]}))
            modelpack.log_metrics({k: float(results[k][i]) for k in metric_keys})
