"""MLflow's ``mlflow.tracking`` names: the client and the store URI functions.

``from modelpack.tracking import MlflowClient`` replaces ``from mlflow.tracking import
MlflowClient``. Each name here is another name for modelpack's own:

- ``MlflowClient`` is :class:`modelpack._client.Client`.
- ``set_tracking_uri`` / ``get_tracking_uri`` are :func:`modelpack.set_store_uri` /
  :func:`modelpack.get_store_uri`: the store holding runs and registered models (a directory,
  ``file:///dir`` or ``sqlite:///path/to.db``). When none is set, the URI is
  ``MODELPACK_STORE_URI``, else ``./modelpack-store`` (MLflow's default differs).
- ``set_registry_uri`` / ``get_registry_uri`` are the same two functions: a modelpack store
  holds runs and the registry together, so setting the registry URI sets the tracking URI too.
  For a client of a separate registry store, pass ``MlflowClient(registry_uri=...)``.

An MLflow name that modelpack does not implement raises
:class:`~modelpack.exceptions.NotSupportedError` naming the modelpack way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelpack._client import MlflowClient
from modelpack._store import get_store_uri, set_store_uri

__all__ = [
    "MlflowClient",
    "get_registry_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "set_tracking_uri",
]

set_tracking_uri = set_store_uri
get_tracking_uri = get_store_uri
set_registry_uri = set_store_uri
get_registry_uri = get_store_uri

if not TYPE_CHECKING:  # type checkers keep reporting misspelt names
    from modelpack._mlflow_names import missing_attribute

    __getattr__ = missing_attribute(__name__)
