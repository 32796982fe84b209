"""The UI's ASGI application: pages, static files, the JSON API and safety headers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelpack._optional import require
from modelpack._store import Store, get_store, get_store_uri
from modelpack.ui._api import api_routes
from modelpack.ui._artifacts import ArtifactReader
from modelpack.ui._pages import page_routes
from modelpack.ui._security import Access

__all__ = ["create_app", "read_token_file"]

#: where ``modelpack server`` hands its worker processes their configuration

_STATIC = Path(__file__).parent / "static"
#: scripts only from the UI itself; ECharts sets inline styles, so styles may be inline
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def read_token_file(path: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    """The write tokens and the read-only ones of a token file, read as the team server reads
    its ``--auth-token-file`` (one token a line, ``ro:<token>`` for a read-only one)."""
    from modelpack.server._auth import Tokens

    tokens = Tokens.load(path)
    return [t.decode() for t in tokens.write], [t.decode() for t in tokens.read]


class _SafetyHeaders:
    """ASGI middleware adding the CSP and friends to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + _HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    store_uri: str | os.PathLike[str] | None = None,
    *,
    token: str | Sequence[str] | None = None,
    read_tokens: Sequence[str] = (),
    private: bool = False,
    artifacts_destination: str | None = None,
) -> Any:
    """The UI as an ASGI application (Starlette) over the store ``store_uri``.

    Parameters
    ----------
    store_uri : str, path or None
        The store to show; None is the store in effect (``MODELPACK_STORE_URI`` or
        ``./modelpack-store``).
    token : str or sequence of str, optional
        Allows writes (aliases, stages, descriptions) to whoever presents it, as a bearer
        token or by signing in on the page. Without it the UI is read-only.
    read_tokens : sequence of str
        Tokens that may sign in to look but not change anything.
    private : bool
        Reading needs a token too (signed in, or as a bearer token); the pages themselves
        hold no data and stay reachable, showing the sign-in box.
    artifacts_destination : str, optional
        The team server's ``--artifacts-destination`` when the UI is served by
        ``modelpack server``: run artifacts logged through the server's proxy are read
        there (``modelpack server`` passes it). None reads the store's own artifacts.
    """
    require("starlette", "ui", purpose="the web UI")
    require("orjson", "ui", purpose="the web UI")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    uri = os.fspath(store_uri) if store_uri is not None else get_store_uri()

    def store() -> Store:
        return get_store(uri)  # opened once per process, cached by the store module

    routes: list[Any] = list(page_routes())
    writers = (token,) if isinstance(token, str) else tuple(token or ())
    if private and not (writers or read_tokens):
        raise ValueError("a private UI needs at least one token")
    reader = ArtifactReader(artifacts_destination)
    routes += api_routes(store, Access(writers, tuple(read_tokens), private), reader)
    routes.append(Mount("/ui/static", app=StaticFiles(directory=_STATIC), name="static"))
    return Starlette(routes=routes, middleware=[Middleware(_SafetyHeaders)])
