"""MLflow's ``mlflow.models`` basics: signatures and a saved model's information.

- ``ModelSignature`` is :class:`modelpack.Signature` (``inputs``, ``outputs``, ``params``;
  ``to_dict`` / ``from_dict`` in MLflow's encoding).
- ``infer_signature`` is :func:`modelpack.infer_signature`.
- :func:`get_model_info` reads a model's manifest from any model URI.

MLflow's evaluation, deployment and model-editing names raise
:class:`~modelpack.exceptions.NotSupportedError` naming the modelpack way (``modelpack
predict``, ``modelpack build-docker``, ``signature=`` when saving, ...).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from modelpack._manifest import read_manifest
from modelpack._save import ModelInfo
from modelpack._signature import Signature, infer_signature
from modelpack._uri import resolve_uri

__all__ = ["ModelInfo", "ModelSignature", "get_model_info", "infer_signature"]

#: MLflow's name for :class:`modelpack.Signature` (the same class)
ModelSignature = Signature


def get_model_info(model_uri: str | os.PathLike[str]) -> ModelInfo:
    """What a model's manifest says: flavors, signature, run, input example, ...

    Parameters
    ----------
    model_uri : str or path
        A model directory, ``runs:/<run_id>/<path>`` or ``models:/<name>/<version>`` (any form
        ``modelpack.load_model`` accepts).

    Returns
    -------
    ModelInfo
        ``model_uri`` as given; ``model_dir`` the local directory it resolved to.
    """
    model_dir = resolve_uri(model_uri)
    return ModelInfo.from_manifest(read_manifest(model_dir), model_dir, os.fspath(model_uri))


if not TYPE_CHECKING:  # type checkers keep reporting misspelt names
    from modelpack._mlflow_names import missing_attribute

    __getattr__ = missing_attribute(__name__)
