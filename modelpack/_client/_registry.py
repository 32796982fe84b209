"""The registry half of the client (MLflow's ``MlflowClient`` registry methods).

Every method is :class:`modelpack._registry.Registry`'s, the same code behind the module-level
registry functions; the client only decides which store they work on: ``registry_uri`` when
given, else ``tracking_uri``, else the store in effect when a method is called.
"""

from __future__ import annotations

from modelpack._client._base import ClientBase
from modelpack._registry import Registry

__all__ = ["RegistryClient"]


class RegistryClient(ClientBase, Registry):
    """Registered models and their versions, aliases, stages and tags, on one store.

    Parameters
    ----------
    tracking_uri : str, optional
        The store of runs, and of the registry unless ``registry_uri`` is given.
    registry_uri : str, optional
        The store of registered models.
    """
