"""XGBoost autologging: ``xgboost.train`` and the scikit-learn classes' ``fit``.

``xgboost.train`` logs the booster parameters and its own arguments, the evaluation metrics of
every round (``<eval name>-<metric>`` at ``step`` = round; the scikit-learn classes name their
eval sets ``validation_0``, ``validation_1``, ...), ``stopped_iteration``/``best_iteration``
with early stopping, and the Booster. ``XGBRegressor.fit`` and its siblings log the same
through the ``train`` call they make, and the fitted scikit-learn object as the model.
"""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any

import modelpack
from modelpack._autolog import _patch
from modelpack._autolog._inputs import fit_inputs, head, model_inputs
from modelpack._autolog._session import (
    Attempt,
    as_params,
    estimator_tags,
    is_active,
    run_autologged,
    state,
)

__all__ = ["INTEGRATION", "SUPPORTED", "disable", "enable"]

INTEGRATION = "xgboost"
SUPPORTED = ("2.0", "3.3")  # [lowest, first unsupported); tested with 3.2
# Arguments of train() that are data, callables or outputs rather than settings (MLflow's list,
# plus custom_metric, a callable).
_UNLOGGED = frozenset(
    {
        "params",
        "dtrain",
        "evals",
        "obj",
        "feval",
        "evals_result",
        "xgb_model",
        "callbacks",
        "learning_rates",
        "custom_metric",
    }
)
FLUSH_SECONDS = 5.0  # per-round metrics reach the store at least this often during training


def enable() -> None:
    """Install the wrappers (once; settings are read at each call)."""
    if _patch.installed(INTEGRATION):
        return
    import xgboost
    import xgboost.sklearn

    _patch.patch_attribute(INTEGRATION, xgboost, "train", _train_wrapper(xgboost.train))
    # the scikit-learn classes call the `train` imported into their own module
    _patch.patch_attribute(
        INTEGRATION, xgboost.sklearn, "train", _inner_train_wrapper(xgboost.sklearn.train)
    )
    classes = [xgboost.sklearn.XGBModel, *_subclasses(xgboost.sklearn.XGBModel)]
    for cls in classes:
        if cls.__module__.startswith("xgboost."):
            _patch.patch_method(INTEGRATION, cls, "fit", _fit_wrapper)


def disable() -> None:
    _patch.revert(INTEGRATION)


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    sub: type
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


@functools.cache
def _train_signature(func: Any) -> inspect.Signature:
    return inspect.signature(func)


# ---------------------------------------------------------------------- per-round metrics
class _Rounds:
    """Evaluation results of each round, written to the run in batches while training."""

    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt
        self.history: list[dict[str, float]] = []
        self._pending: list[tuple[int, dict[str, float]]] = []
        self._flushed_at = time.monotonic()

    def add(self, step: int, metrics: dict[str, float]) -> None:
        self.history.append(metrics)
        if metrics:
            self._pending.append((step, metrics))
        if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        self._flushed_at = time.monotonic()
        with self.attempt.quietly():
            self.attempt.run("per-round metrics", _log_rounds, pending)


def _log_rounds(pending: list[tuple[int, dict[str, float]]]) -> None:
    for step, metrics in pending:
        modelpack.log_metrics(metrics, step=step)


def _round_metrics(evals_log: Any) -> dict[str, float]:
    # MLflow's names: "<eval name>-<metric>", with "@" (as in "ndcg@3") spelled "_at_"
    return {
        f"{data}-{metric}".replace("@", "_at_"): float(values[-1])
        for data, by_metric in evals_log.items()
        for metric, values in by_metric.items()
    }


@functools.cache
def _recorder_class() -> type:
    from xgboost.callback import TrainingCallback

    class RoundRecorder(TrainingCallback):
        def __init__(self, rounds: _Rounds) -> None:
            super().__init__()
            self.rounds = rounds

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            metrics = self.rounds.attempt.run("per-round metrics", _round_metrics, evals_log)
            self.rounds.add(epoch, metrics or {})
            return False  # never stops training

    return RoundRecorder


# ---------------------------------------------------------------------- xgboost.train
class _TrainCall:
    """Logging around one ``train(params, dtrain, ...)``; the model only for the native API."""

    def __init__(self, train: Any, args: Any, kwargs: Any, attempt: Attempt, *, model: bool):
        self.train = train
        self.bound = _train_signature(train).bind(*args, **kwargs)
        self.attempt = attempt
        self.log_model = model
        self.rounds = _Rounds(attempt)

    def before(self) -> None:
        given = self.bound.arguments
        booster_params = dict(given.get("params") or {})
        with_defaults = inspect.BoundArguments(self.bound.signature, dict(given))
        with_defaults.apply_defaults()
        own = {k: v for k, v in with_defaults.arguments.items() if k not in _UNLOGGED}
        modelpack.log_params(as_params({**booster_params, **own}))

    def invoke(self) -> Any:
        """Train with the round recorder added to the caller's callbacks (never changed)."""
        try:
            arguments = dict(self.bound.arguments)
            recorder = _recorder_class()(self.rounds)
            arguments["callbacks"] = [*(arguments.get("callbacks") or ()), recorder]
            call = inspect.BoundArguments(self.bound.signature, arguments)
        except Exception as e:
            self.attempt.failures.setdefault("per-round metrics", f"{type(e).__name__}: {e}")
            call = self.bound
        return self.train(*call.args, **call.kwargs)

    def after(self, booster: Any) -> None:
        self.rounds.flush()
        history = self.rounds.history
        if self.bound.arguments.get("early_stopping_rounds") and history:
            self.attempt.run("early-stopping metrics", _log_early_stopping, booster, history)
        if self.log_model:
            dtrain = self.bound.arguments.get("dtrain")
            self.attempt.run("the model", self._log_booster, booster, dtrain)

    def _log_booster(self, booster: Any, dtrain: Any) -> None:
        settings = self.attempt.settings
        rows = None
        if settings.log_input_examples or settings.log_model_signatures:
            rows = self.attempt.run("the model signature", _dmatrix_head, dtrain)
        example, signature = None, False
        if rows is not None:
            frame, small = rows
            example, signature = model_inputs(
                self.attempt, lambda _rows: booster.predict(small), frame
            )
        modelpack.xgboost.log_model(
            booster,
            "model",
            signature=signature,
            input_example=example,
            model_format=settings.model_format,
            registered_model_name=settings.registered_model_name,
        )


def _log_early_stopping(booster: Any, history: list[dict[str, float]]) -> None:
    # as MLflow: the stop and best rounds, then the best round's metrics one step past the last
    best = int(booster.best_iteration)
    modelpack.log_metrics({"stopped_iteration": len(history) - 1, "best_iteration": best})
    if 0 <= best < len(history) and history[best]:
        modelpack.log_metrics(history[best], step=len(history))


def _dmatrix_head(dtrain: Any, rows: int = 5) -> tuple[Any, Any]:
    """The first rows of a DMatrix as a dense example (missing values as NaN), and as a DMatrix."""
    import numpy as np

    small = dtrain.slice(list(range(min(rows, dtrain.num_row()))))
    coo = small.get_data().tocoo()
    dense = np.full(coo.shape, np.nan, dtype=np.float64)
    dense[coo.row, coo.col] = coo.data
    names = small.feature_names
    if names:
        try:
            import pandas as pd
        except ImportError:
            return dense, small
        return pd.DataFrame(dense, columns=list(names)), small
    return dense, small


def _train_wrapper(original: Any) -> Any:
    @functools.wraps(original)
    def train_with_autolog(*args: Any, **kwargs: Any) -> Any:
        if not is_active(INTEGRATION):
            return original(*args, **kwargs)
        return run_autologged(
            INTEGRATION,
            "xgboost.train",
            lambda attempt: _TrainCall(original, args, kwargs, attempt, model=True),
            lambda call: original(*args, **kwargs) if call is None else call.invoke(),
        )

    return train_with_autolog


def _inner_train_wrapper(original: Any) -> Any:
    """``train`` as the scikit-learn classes call it: logs for the fit around it, if any."""

    @functools.wraps(original)
    def train_for_fit(*args: Any, **kwargs: Any) -> Any:
        fit = state.xgb_fit
        if fit is None:
            return original(*args, **kwargs)
        state.xgb_fit = None  # one train() per fit is logged
        attempt = fit.attempt
        with attempt.quietly():
            call = attempt.run(
                "the parameters", _TrainCall, original, args, kwargs, attempt, model=False
            )
            if call is not None:
                attempt.run("the parameters", call.before)
        if call is None:
            return original(*args, **kwargs)
        booster = call.invoke()
        with attempt.quietly():
            attempt.run("per-round metrics", call.after, booster)
        return booster

    return train_for_fit


# ---------------------------------------------------------------------- XGBModel.fit
class _ModelFit:
    """Logging around an outermost ``XGBRegressor.fit`` (or another scikit-learn class)."""

    def __init__(self, model: Any, fit: Any, args: Any, kwargs: Any, attempt: Attempt):
        self.model = model
        self.attempt = attempt
        settings = attempt.settings
        wants_rows = settings.log_input_examples or settings.log_model_signatures
        X = fit_inputs(fit, args, kwargs).X
        self.example = head(X) if settings.log_models and wants_rows else None

    def before(self) -> None:
        modelpack.set_tags(estimator_tags(self.model))

    def after(self, result: Any) -> None:
        settings = self.attempt.settings
        if not settings.log_models:
            return
        example, signature = model_inputs(self.attempt, self.model.predict, self.example)
        self.attempt.run(
            "the model",
            modelpack.xgboost.log_model,
            self.model,
            "model",
            signature=signature,
            input_example=example,
            model_format=settings.model_format,
            registered_model_name=settings.registered_model_name,
        )


def _fit_wrapper(original: Any) -> Any:
    @functools.wraps(original)
    def fit_with_autolog(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_active(INTEGRATION):
            return original(self, *args, **kwargs)

        def invoke(hooks: _ModelFit | None) -> Any:
            if hooks is None:
                return original(self, *args, **kwargs)
            state.xgb_fit = hooks  # the train() inside logs params and rounds into this run
            try:
                return original(self, *args, **kwargs)
            finally:
                state.xgb_fit = None

        return run_autologged(
            INTEGRATION,
            f"{type(self).__name__}.fit",
            lambda attempt: _ModelFit(self, original, args, kwargs, attempt),
            invoke,
        )

    return fit_with_autolog
