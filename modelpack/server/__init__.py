"""The team server: runs, the registry and artifacts over MLflow's REST API.

``modelpack server`` runs it (``modelpack.cli._server``); :func:`create_app` builds the ASGI
application for any ASGI server. Needs the ``server`` extra (Starlette, uvicorn, orjson).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServerConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # importing modelpack.server stays cheap; Starlette loads when the app is built
    if name in __all__:
        from modelpack.server import _app

        return getattr(_app, name)
    raise AttributeError(name)
