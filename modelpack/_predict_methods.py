"""The method a caller asks ``predict`` to run: its names, the reserved parameter, labelled output.

``PyFuncModel.predict(x, params={"predict_method": "predict_proba"})`` runs the model's
``predict_proba`` instead of ``predict``. The core never names a flavor: a flavor's predictor
advertises the methods it can run (``Predictor.methods``) and runs one by name
(``Predictor.call``); this module holds what every flavor shares. Probabilities, log
probabilities and multi-class decision functions come back as a DataFrame whose columns are the
model's class labels, when the model names its classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelpack.exceptions import SchemaError

__all__ = [
    "LABELLED",
    "METHODS",
    "PARAM",
    "available",
    "check_method",
    "label_classes",
]

#: the request parameter that names the method; reserved: no signature needs to declare it
PARAM = "predict_method"
#: the methods a caller may ask for, where the model has them
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")
#: methods whose output has one column per class
LABELLED = frozenset({"predict_proba", "predict_log_proba", "decision_function"})


def available(obj: Any, names: Sequence[str] = METHODS) -> tuple[str, ...]:
    """Those of ``names`` that ``obj`` has as callables (a Pipeline has what its last step has)."""
    return tuple(name for name in names if callable(getattr(obj, name, None)))


def check_method(method: Any, methods: Sequence[str]) -> str:
    """``method`` when it is one of ``methods``; else a SchemaError naming them."""
    if not isinstance(method, str):
        raise SchemaError(
            f"{PARAM} must be a method name (one of {', '.join(methods)}), not "
            f"{type(method).__name__} {method!r}"
        )
    if method not in methods:
        raise SchemaError(
            f"{PARAM}={method!r}: this model has no such method; it has {', '.join(methods)}"
        )
    return method


def label_classes(out: Any, classes: Any) -> Any:
    """A 2-D output with one column per class as a DataFrame with the class labels as columns.

    Anything else (1-D output such as a binary decision function, no known classes, a width
    that does not match them, pandas missing) is returned unchanged.
    """
    if classes is None or getattr(out, "ndim", 0) != 2 or hasattr(out, "columns"):
        return out
    labels = classes.tolist() if hasattr(classes, "tolist") else list(classes)
    if out.shape[1] != len(labels) or len(set(labels)) != len(labels):
        return out
    try:
        import pandas as pd
    except ImportError:  # a model without pandas keeps its array
        return out
    return pd.DataFrame(out, columns=labels)
