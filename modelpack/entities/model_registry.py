"""MLflow's ``mlflow.entities.model_registry``: the registry's entities.

``from modelpack.entities.model_registry import ModelVersion`` gives the class that
``get_model_version``, ``search_model_versions`` and ``register_model`` return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelpack._store import ModelVersion, RegisteredModel

__all__ = ["ModelVersion", "RegisteredModel"]

if not TYPE_CHECKING:  # type checkers keep reporting misspelt names
    from modelpack._mlflow_names import missing_attribute

    __getattr__ = missing_attribute(__name__)
