"""Custom models: the :class:`PythonModel` base class, its load context, and callables as models.

The public names are ``modelpack.pyfunc.PythonModel`` and ``modelpack.pyfunc.PythonModelContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PythonModel", "PythonModelContext", "as_python_model"]


@dataclass
class PythonModelContext:
    """What a custom model's ``load_context`` receives: artifact paths by name."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] | None = None


class PythonModel:
    """Base class for custom models.

    Override :meth:`predict`; override :meth:`load_context` to load the files passed as
    ``artifacts=`` when saving. Set the class attribute ``input_kind`` to ``"records"`` to
    receive a list of dicts instead of a DataFrame, or ``"any"`` to receive input untouched.

    A subclass may also define ``predict_proba``, ``predict_log_proba`` or
    ``decision_function``, taking the same arguments as its ``predict``; callers then choose
    one with ``params={"predict_method": "predict_proba"}``, and a ``classes_`` attribute
    labels their columns. Parameters the signature declares reach every method as ``params``.
    """

    input_kind: str = "frame"
    #: set True when each output row depends only on its input row; the server then merges
    #: concurrent requests into one predict call
    row_wise: bool = False

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, before the first ``predict``."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("a PythonModel subclass must implement predict()")


class _FunctionModel(PythonModel):
    """A plain callable saved as a model: ``fn(model_input)``."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.fn(model_input)


def as_python_model(obj: Any) -> Any:
    """``obj`` itself when it is a custom model, else the callable wrapped as one."""
    if isinstance(obj, PythonModel) or hasattr(obj, "load_context"):
        return obj
    return _FunctionModel(obj)
