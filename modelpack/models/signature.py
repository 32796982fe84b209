"""MLflow's ``mlflow.models.signature``: ``from modelpack.models.signature import infer_signature``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelpack._signature import Signature, infer_signature

__all__ = ["ModelSignature", "infer_signature"]

#: MLflow's name for :class:`modelpack.Signature` (the same class)
ModelSignature = Signature

if not TYPE_CHECKING:  # type checkers keep reporting misspelt names
    from modelpack._mlflow_names import missing_attribute

    __getattr__ = missing_attribute(__name__)
