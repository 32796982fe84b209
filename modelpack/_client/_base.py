"""What both halves of the client share: the URIs it was made with and the stores they open.

``TrackingClient`` (``_tracking``) and ``RegistryClient`` (``_registry``) both derive from
:class:`ClientBase`, so ``Client`` (both halves) has one ``__init__`` and one way to reach a store.
"""

from __future__ import annotations

from modelpack._store import Store, get_store

__all__ = ["ClientBase"]


class ClientBase:
    """Holds the tracking and registry URIs; opens their stores on first use.

    Parameters
    ----------
    tracking_uri : str, optional
        The store for experiments and runs. None means the store in effect when a method is
        called (:func:`modelpack.set_store_uri`, ``MODELPACK_STORE_URI``, ``./modelpack-store``),
        so a client made before ``set_tracking_uri`` follows it, as in MLflow.
    registry_uri : str, optional
        The store for registered models and versions. None means the tracking store.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = tracking_uri
        self._registry_uri = registry_uri

    @property
    def _store(self) -> Store:
        """The tracking store (opened once per process by ``get_store``)."""
        return get_store(self._tracking_uri)

    @property
    def _registry_store(self) -> Store:
        """The registry store: ``registry_uri`` when given, else the tracking store."""
        if self._registry_uri is None:
            return self._store
        return get_store(self._registry_uri)
