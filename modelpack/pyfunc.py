"""The uniform predict interface (:class:`PyFuncModel`) and custom Python models.

Every model loads as a :class:`PyFuncModel`, whatever its flavor. ``predict`` accepts a pandas
DataFrame, a list of dict records, a dict of columns, or a 2-D numpy array when the signature
gives the column order; checks it against the signature; applies the bundled preprocessor;
and calls the model. Subclass :class:`PythonModel` (or pass a plain callable) to save custom
prediction code with :func:`save_model` or :func:`log_model`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._pyfunc_model import PyFuncModel
from modelpack._python_model import PythonModel, PythonModelContext

# Models saved while the callable wrapper lived here name it modelpack.pyfunc._FunctionModel in
# their pickle; the name stays importable from here so they keep loading.
from modelpack._python_model import _FunctionModel as _FunctionModel
from modelpack._wrappers import log_as, save_as

if TYPE_CHECKING:
    from modelpack._save import ModelInfo
    from modelpack._signature import SignatureLike

__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]


# ---------------------------------------------------------------------- module functions
def save_model(
    python_model: PythonModel | Callable[[Any], Any],
    path: str | Path,
    *,
    artifacts: Mapping[str, str] | None = None,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> ModelInfo:
    """Save a :class:`PythonModel` or a plain callable as a ``python_function`` model."""
    return save_as("python_function", locals())


def log_model(
    python_model: PythonModel | Callable[[Any], Any],
    name: str = "model",
    *,
    artifacts: Mapping[str, str] | None = None,
    preprocessor: Any = None,
    signature: SignatureLike = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    await_registration_for: int = 300,
) -> ModelInfo:
    """Log a :class:`PythonModel` or a plain callable into the active run.

    Takes the arguments of :func:`save_model`, with ``name`` (the model's path inside the
    run) and ``registered_model_name``; see :func:`modelpack.sklearn.log_model`.
    """
    return log_as("python_function", locals())


def load_model(
    model_uri: str | Path,
    *,
    allow_pickle: bool | None = None,
    strict_env: bool = False,
    trusted_types: Sequence[str] | None = None,
    require_signature: str | os.PathLike[str] | bytes | None = None,
) -> PyFuncModel:
    """Load any model as a :class:`PyFuncModel` (the same as :func:`modelpack.load_model`)."""
    from modelpack._load import load_pyfunc

    return load_pyfunc(
        model_uri,
        allow_pickle=allow_pickle,
        strict_env=strict_env,
        trusted_types=trusted_types,
        require_signature=require_signature,
    )
