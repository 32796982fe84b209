"""The training inputs of a patched call: X, y and sample weights, and the example rows.

Nothing here copies the training data: only the few rows of the input example are copied,
before training, so that a fit that mutates its input cannot change the example.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import modelpack
from modelpack._autolog._session import Attempt

__all__ = ["EXAMPLE_ROWS", "FitInputs", "fit_inputs", "head", "model_inputs", "reusable"]

EXAMPLE_ROWS = 5  # as many rows as MLflow's autolog keeps for an input example


class FitInputs(NamedTuple):
    X: Any
    y: Any
    sample_weight: Any


@functools.lru_cache(maxsize=1024)
def _layout(func: Any) -> tuple[str | None, str | None, int | None]:
    """Names of the X and y parameters of a ``fit(self, X, y, ...)`` and where sample_weight is."""
    params = list(inspect.signature(func).parameters.values())[1:]
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [p.name for p in params]
    weight = positional.index("sample_weight") if "sample_weight" in positional else None
    if weight is None and "sample_weight" in names:
        weight = -1  # keyword-only
    x_name = positional[0] if positional else None
    y_name = positional[1] if len(positional) > 1 else None
    return x_name, y_name, weight


def fit_inputs(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> FitInputs:
    """X, y and sample_weight of a call ``func(self, *args, **kwargs)`` (None when absent)."""
    x_name, y_name, weight = _layout(func)
    X = args[0] if args else kwargs.get(x_name) if x_name else None
    y = args[1] if len(args) > 1 else kwargs.get(y_name) if y_name else None
    if weight is None:
        sample_weight = None
    elif 0 <= weight < len(args):
        sample_weight = args[weight]
    else:
        sample_weight = kwargs.get("sample_weight")
    return FitInputs(X, y, sample_weight)


def reusable(X: Any) -> bool:
    """Whether X can be read again after training (not a one-shot iterator)."""
    return X is not None and not isinstance(X, Iterator)


def head(X: Any, rows: int = EXAMPLE_ROWS) -> Any:
    """A copy of the first rows of X, or None for data without rows to slice (or sparse)."""
    if not reusable(X) or hasattr(X, "tocsr"):  # sparse matrices make no input example
        return None
    if hasattr(X, "iloc"):
        return X.iloc[:rows].copy()
    if isinstance(X, (list, tuple)):
        return copy.deepcopy(list(X[:rows]))
    if hasattr(X, "shape") and hasattr(X, "__getitem__"):
        return copy.deepcopy(X[:rows])
    return None


def model_inputs(attempt: Attempt, predict: Any, example: Any) -> tuple[Any, Any]:
    """``(input_example, signature)`` arguments for ``log_model`` from the example rows.

    The signature comes from predicting the example (its inputs and outputs). ``False`` asks
    for none, so that modelpack does not try again from a logged example when this failed.
    """
    settings = attempt.settings
    logged_example = example if settings.log_input_examples else None
    signature = None
    if settings.log_model_signatures and example is not None:
        signature = attempt.run("the model signature", _signature, predict, example)
    return logged_example, False if signature is None else signature


def _signature(predict: Any, example: Any) -> Any:
    with warnings.catch_warnings():  # feature-name notices etc. belong to the user's own calls
        warnings.simplefilter("ignore")
        output = predict(copy.deepcopy(example))
    return modelpack.infer_signature(example, output)
