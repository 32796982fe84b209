"""MLflow's ``mlflow.client``: ``from modelpack.client import MlflowClient``.

``MlflowClient`` is :class:`modelpack._client.Client` (see ``modelpack.tracking`` for the
differences from MLflow's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelpack._client import MlflowClient

__all__ = ["MlflowClient"]

if not TYPE_CHECKING:  # type checkers keep reporting misspelt names
    from modelpack._mlflow_names import missing_attribute

    __getattr__ = missing_attribute(__name__)
