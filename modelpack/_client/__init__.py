"""The object-style client, MLflow's ``MlflowClient``: the tracking and registry halves in one class.

``TrackingClient`` (``_tracking``: experiments, runs, metrics, artifacts) and ``RegistryClient``
(``_registry``: registered models, versions, aliases) each take their store from
:class:`~modelpack._client._base.ClientBase`; :class:`Client` is both. ``MlflowClient`` is the
same class under MLflow's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelpack._client._registry import RegistryClient
from modelpack._client._tracking import TrackingClient
from modelpack._store import get_store_uri

__all__ = ["Client", "MlflowClient"]


class Client(TrackingClient, RegistryClient):
    """Experiments, runs and the model registry of one store, as MLflow's ``MlflowClient``.

    Parameters
    ----------
    tracking_uri : str, optional
        The store of experiments and runs: a directory, ``file:///dir`` or
        ``sqlite:///path/to.db``. None means the store in effect when a method is called
        (``set_tracking_uri``, ``MODELPACK_STORE_URI``, else ``./modelpack-store``).
    registry_uri : str, optional
        The store of registered models. None means the tracking store, which in modelpack
        holds the registry too.

    Notes
    -----
    Differences from MLflow's ``MlflowClient``:

    - A client made without ``tracking_uri`` follows ``set_tracking_uri`` calls made after it
      was created; MLflow's fixes the URI in effect when the client is made.
    - An MLflow method that modelpack does not implement (tracing, prompts, datasets, logged
      models, webhooks, ...) raises :class:`~modelpack.exceptions.NotSupportedError` (an
      ``AttributeError``) that names the modelpack way; ``docs/mlflow-compatibility.md`` lists
      every method.
    """

    @property
    def tracking_uri(self) -> str:
        """The URI of the store this client tracks runs in."""
        return self._tracking_uri if self._tracking_uri is not None else get_store_uri()

    if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt method stays an error

        def __getattr__(self, name: str) -> Any:
            from modelpack._mlflow_names import unsupported

            error = unsupported("MlflowClient", name)
            if error is not None:
                raise error
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


#: MLflow's name for :class:`Client` (the same class)
MlflowClient = Client
