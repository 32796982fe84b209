"""The training metrics scikit-learn autologging records, under MLflow's names.

Predictions on the training data are made once and shared by every metric; ``training_score``
reuses accuracy or R² when the estimator's ``score`` is scikit-learn's default one, instead of
predicting again. A metric that cannot be computed for this data is left out.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["training_metrics"]

PREFIX = "training_"


def training_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any
) -> dict[str, float]:
    """``training_*`` metrics of a fitted estimator on its training data."""
    from sklearn.base import is_classifier, is_regressor

    metrics: dict[str, float] = {}
    with warnings.catch_warnings():  # e.g. UndefinedMetricWarning: not the user's own call
        warnings.simplefilter("ignore")
        if is_classifier(estimator):
            metrics = _classifier(estimator, X, y, sample_weight, pos_label)
        elif is_regressor(estimator):
            metrics = _regressor(estimator, X, y, sample_weight)
        score = _score(estimator, X, y, sample_weight, metrics)
    if score is not None:
        metrics[PREFIX + "score"] = score
    return metrics


def _put(metrics: dict[str, float], name: str, compute: Callable[[], Any]) -> None:
    try:
        value = float(compute())
    except Exception:  # undefined for this data (one class only, labels unseen, ...)
        return
    metrics[PREFIX + name] = value


def _classifier(est: Any, X: Any, y: Any, weight: Any, pos_label: Any) -> dict[str, float]:
    from sklearn import metrics as m

    y_pred = est.predict(X)
    # MLflow's choices: weighted averages, or the binary score of pos_label when given
    avg: dict[str, Any] = {"average": "weighted"}
    if pos_label is not None:
        avg = {"average": "binary", "pos_label": pos_label}
    out: dict[str, float] = {}
    _put(out, "precision_score", lambda: m.precision_score(y, y_pred, sample_weight=weight, **avg))
    _put(out, "recall_score", lambda: m.recall_score(y, y_pred, sample_weight=weight, **avg))
    _put(out, "f1_score", lambda: m.f1_score(y, y_pred, sample_weight=weight, **avg))
    _put(out, "accuracy_score", lambda: m.accuracy_score(y, y_pred, sample_weight=weight))
    if hasattr(est, "predict_proba"):
        try:
            proba = est.predict_proba(X)
        except Exception:
            return out
        _put(out, "log_loss", lambda: m.log_loss(y, proba, sample_weight=weight))
        scores = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba
        _put(
            out,
            "roc_auc",
            lambda: m.roc_auc_score(
                y, scores, average="weighted", sample_weight=weight, multi_class="ovo"
            ),
        )
    return out


def _regressor(est: Any, X: Any, y: Any, weight: Any) -> dict[str, float]:
    from sklearn import metrics as m

    y_pred = est.predict(X)
    out: dict[str, float] = {}
    kw = {"sample_weight": weight, "multioutput": "uniform_average"}
    _put(out, "mean_squared_error", lambda: m.mean_squared_error(y, y_pred, **kw))
    _put(out, "mean_absolute_error", lambda: m.mean_absolute_error(y, y_pred, **kw))
    _put(out, "r2_score", lambda: m.r2_score(y, y_pred, **kw))
    if PREFIX + "mean_squared_error" in out:
        out[PREFIX + "root_mean_squared_error"] = math.sqrt(out[PREFIX + "mean_squared_error"])
    return out


def _score(est: Any, X: Any, y: Any, weight: Any, metrics: dict[str, float]) -> float | None:
    """``estimator.score`` on the training data, as MLflow calls it (weights if it takes them)."""
    score = getattr(est, "score", None)
    if score is None:
        return None
    takes_weight = "sample_weight" in inspect.signature(score).parameters
    if weight is None or takes_weight:
        same_as = _default_score_metric(est)
        if same_as is not None and PREFIX + same_as in metrics:
            return metrics[PREFIX + same_as]
    try:
        value = score(X, y, weight) if takes_weight else score(X, y)
        return float(value)
    except Exception:
        return None


def _default_score_metric(est: Any) -> str | None:
    """The metric ``est.score`` equals when it is scikit-learn's default score, else None.

    A Pipeline scores with its last step; a search without its own ``scoring`` with its best
    estimator. ClassifierMixin.score is accuracy and RegressorMixin.score is R², computed on
    the same predictions as the metrics above.
    """
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.pipeline import Pipeline

    def score_of(cls: type) -> Any:  # static lookup: available_if makes a new object per access
        return inspect.getattr_static(cls, "score", None)

    for _ in range(16):  # nested pipelines and searches; a bound keeps a cycle from looping
        score = score_of(type(est))
        if score is None:
            return None
        if isinstance(est, Pipeline) and score is score_of(Pipeline):
            est = est._final_estimator
        elif (
            isinstance(est, BaseSearchCV)
            and score is score_of(BaseSearchCV)
            and est.scoring is None
            and hasattr(est, "best_estimator_")
        ):
            est = est.best_estimator_
        elif score is score_of(ClassifierMixin):
            return "accuracy_score"
        elif score is score_of(RegressorMixin):
            return "r2_score"
        else:
            return None
    return None
