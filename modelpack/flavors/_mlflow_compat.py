"""The entry point MLflow calls to load a modelpack model.

modelpack writes ``loader_module: modelpack.flavors._mlflow_compat`` in the ``python_function``
flavor; ``mlflow.pyfunc.load_model`` imports this module and calls :func:`_load_pyfunc` with the
model directory. The returned object's ``predict(data, params=None)`` is what MLflow calls.
Reading MLflow-written directories needs nothing here: each flavor declares the MLflow module
it mirrors and reads MLflow's keys directly.
"""

from __future__ import annotations

import os
from typing import Any

__all__: list[str] = []


def _load_pyfunc(path: str, model_config: Any = None) -> Any:
    from modelpack._load import load_pyfunc

    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    return load_pyfunc(model_dir)
