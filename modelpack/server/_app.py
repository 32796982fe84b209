"""The ASGI application: routing, the token check, body limits and JSON errors.

Stateless by design: each process opens the store and the artifact storage once (caches),
and everything else lives in the database and the storage, so any number of processes or
hosts serve the same store behind a load balancer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from modelpack._storage import ArtifactStorage, storage_for
from modelpack._store import Store, get_store
from modelpack._version import __version__
from modelpack.server._auth import Tokens, is_read_only_call
from modelpack.server._errors import (
    ApiError,
    error_body,
    error_response,
    from_exception,
    json_response,
)
from modelpack.server._request import Args

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["Handler", "Server", "ServerConfig", "create_app", "json_endpoint", "read_body"]

#: the most bytes of JSON one API call may send
MAX_JSON_BYTES = 16 * 1024 * 1024
#: the most bytes one proxied artifact upload may send
MAX_ARTIFACT_BYTES = 8 * 1024**3


@dataclass(frozen=True)
class ServerConfig:
    backend_store_uri: str
    artifacts_destination: str
    auth_token_file: str | None = None
    max_json_bytes: int = MAX_JSON_BYTES
    max_artifact_bytes: int = MAX_ARTIFACT_BYTES


class Server:
    """What handlers share: the store and the artifact storage, opened on first use."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.tokens = Tokens.load(config.auth_token_file) if config.auth_token_file else None

    @property
    def store(self) -> Store:
        return get_store(self.config.backend_store_uri)  # one per process, cached there

    @cached_property
    def storage(self) -> ArtifactStorage:
        return storage_for(self.config.artifacts_destination)


#: a handler: the server, the call's arguments and the path's parameters -> the JSON answer
Handler = Callable[..., dict[str, Any]]


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(f"request body over {limit} bytes", "RESOURCE_EXHAUSTED", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(f"request body over {limit} bytes", "RESOURCE_EXHAUSTED", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _args(request: Request, limit: int) -> Args:
    values: dict[str, Any] = {}
    for key in request.query_params:
        found = request.query_params.getlist(key)
        values[key] = found if len(found) > 1 else found[0]
    if request.method != "GET":
        body = await read_body(request, limit)
        if body.strip():
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError) as e:
                raise ApiError(
                    f"the request body is not valid JSON: {e}", "MALFORMED_REQUEST", status=400
                ) from e
            if not isinstance(data, dict):
                raise ApiError(
                    "the request body must be a JSON object", "MALFORMED_REQUEST", status=400
                )
            values.update(data)
    return Args(values)


def json_endpoint(server: Server, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that parses the call's arguments, runs ``handler`` in a worker thread (the
    store's calls block) and answers its dict as JSON, or any error as MLflow's error body."""
    from starlette.concurrency import run_in_threadpool

    async def endpoint(request: Request) -> Response:
        try:
            args = await _args(request, server.config.max_json_bytes)
            body = await run_in_threadpool(handler, server, args, **request.path_params)
        except Exception as e:  # every failure answers JSON, never a traceback
            status, err = from_exception(e)
            return json_response(status, err)
        return json_response(200, body)

    return endpoint


class _Guard:
    """ASGI middleware: the token check, before any routing or body reading."""

    def __init__(self, app: Any, tokens: Tokens | None) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.tokens is None or scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
        access = self.tokens.access(header)
        if access is None:
            code, message = (
                "UNAUTHENTICATED",
                (
                    "missing or unknown token: send 'Authorization: Bearer <token>' (set "
                    "MODELPACK_TRACKING_TOKEN or MLFLOW_TRACKING_TOKEN on the client)"
                ),
            )
        elif access == "read" and not is_read_only_call(scope["method"], scope["path"]):
            code, message = (
                "PERMISSION_DENIED",
                "this token is read-only; writing needs a full token",
            )
        else:
            await self.app(scope, receive, send)
            return
        response = json_response(
            401 if code == "UNAUTHENTICATED" else 403, error_body(code, message)
        )
        if code == "UNAUTHENTICATED":
            response.headers["WWW-Authenticate"] = "Bearer"
        await response(scope, receive, send)


def create_app(config: ServerConfig) -> Any:
    """The ASGI application serving ``config``'s store (MLflow's REST API)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.routing import Route

    from modelpack.server import _artifacts, _logged_models, _registry, _tracking

    server = Server(config)

    async def health(request: Request) -> Response:
        return json_response(200, {"status": "OK", "version": __version__})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            body = error_body(
                "ENDPOINT_NOT_FOUND", f"no endpoint {request.method} {request.url.path}"
            )
        elif exc.status_code == 405:
            body = error_body(
                "BAD_REQUEST", f"{request.method} is not allowed on {request.url.path}"
            )
        else:
            body = error_body("BAD_REQUEST", str(exc.detail))
        return json_response(exc.status_code, body)

    async def crash(request: Request, exc: Exception) -> Response:
        return error_response(exc)

    routes: list[Any] = [Route("/health", health, methods=["GET"])]
    for module in (_tracking, _registry, _logged_models):
        for path, methods, handler in module.ROUTES:
            endpoint = json_endpoint(server, handler)
            routes.append(Route(path, endpoint, methods=methods))
            routes.append(Route(path.replace("/api/", "/ajax-api/", 1), endpoint, methods=methods))
    routes += _artifacts.routes(server)
    api = Starlette(
        routes=routes,
        middleware=[Middleware(_Guard, tokens=server.tokens)],
        exception_handlers={HTTPException: http_error, Exception: crash},
    )
    ui = _web_ui(server)
    return api if ui is None else _WithUI(api, ui)


#: paths the REST API owns; every other path is the web UI's
_API_PREFIXES = ("/api/", "/ajax-api/", "/health")


def _web_ui(server: Server) -> Any:
    """The web UI over the same store, when the ``ui`` extra is installed (else None).

    With tokens, the UI asks for one before showing anything; read-only tokens sign in to look.
    """
    from modelpack.exceptions import MissingDependencyError

    tokens = server.tokens
    try:
        from modelpack.ui import create_app as create_ui

        return create_ui(
            server.config.backend_store_uri,
            token=[t.decode() for t in tokens.write] if tokens else None,
            read_tokens=[t.decode() for t in tokens.read] if tokens else (),
            private=tokens is not None,
            artifacts_destination=server.config.artifacts_destination,
        )
    except MissingDependencyError:
        return None


class _WithUI:
    """ASGI: the REST API for its paths, the web UI (``modelpack.ui``) for the rest."""

    def __init__(self, api: Any, ui: Any) -> None:
        self.api = api
        self.ui = ui

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_API_PREFIXES):
            await self.ui(scope, receive, send)
        else:
            await self.api(scope, receive, send)
