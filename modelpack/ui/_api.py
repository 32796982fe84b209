"""The UI's JSON endpoints under ``/ui/api``: reads for every page, writes behind the token.

Each handler is a plain function of the store and the call's arguments; this module turns
them into Starlette endpoints that run in a worker thread (the store blocks), answer with
orjson, and map errors to a status and ``{"error": message, "kind": ...}`` the page shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from modelpack._store import FilterError, RegistryValueError, Store
from modelpack.exceptions import ModelpackError, StoreUnavailableError
from modelpack.ui import _registry_api, _runs_api
from modelpack.ui._artifacts import ArtifactReader, fetch_artifact, list_artifacts
from modelpack.ui._security import COOKIE, Access, WriteRefused, check_same_origin

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["api_routes", "in_store_thread", "json_response"]

_log = logging.getLogger("modelpack.ui")
#: the most bytes of JSON one write may send
_MAX_BODY = 64 * 1024

Reader = Callable[[Store, Mapping[str, str]], Any]
GetStore = Callable[[], Store]


def json_response(status: int, body: Any) -> Response:
    import orjson
    from starlette.responses import Response

    data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return Response(data, status_code=status, media_type="application/json")


def _error(e: BaseException) -> tuple[int, dict[str, Any]]:
    if isinstance(e, WriteRefused):
        return e.status, {"error": str(e), "kind": "auth"}
    if isinstance(e, FilterError):
        return 400, {"error": str(e), "kind": "filter"}
    if isinstance(e, RegistryValueError):
        return 400, {"error": str(e), "kind": "filter"}
    if isinstance(e, StoreUnavailableError):
        return 503, {"error": str(e), "kind": "store"}
    if isinstance(e, (LookupError, FileNotFoundError)):
        return 404, {"error": str(e), "kind": "not_found"}
    if isinstance(e, (ModelpackError, ValueError, OSError)):
        return 400, {"error": str(e), "kind": "invalid"}
    _log.exception("UI request failed")
    return 500, {"error": f"internal error ({type(e).__name__}); see the server log", "kind": "bug"}


#: every store call runs on this one thread: SQLite serializes writes anyway, and one thread
#: keeps the UI to one store connection instead of one per request thread.
_STORE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelpack-ui-store")


async def in_store_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_STORE_THREAD, partial(function, *args, **kwargs))


async def _call(function: Callable[..., Any], *args: Any) -> Response:
    try:
        body = await in_store_thread(function, *args)
    except Exception as e:  # every failure answers JSON the page can show
        status, error = _error(e)
        return json_response(status, error)
    return json_response(200, body)


def _refused(access: Access, request: Request) -> Response | None:
    """The answer refusing a read of a private UI without a token, else None."""
    try:
        access.check_read(request.headers, request.cookies)
    except WriteRefused as e:
        status, error = _error(e)
        return json_response(status, error)
    return None


def _reader(
    get_store: GetStore, access: Access, handler: Reader
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if (refused := _refused(access, request)) is not None:
            return refused
        return await _call(lambda: handler(get_store(), dict(request.query_params)))

    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    import orjson

    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > _MAX_BODY:
            raise ValueError(f"request body over {_MAX_BODY} bytes")
    try:
        body = orjson.loads(data or b"{}")
    except orjson.JSONDecodeError as e:
        raise ValueError(f"the request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def _writer(
    get_store: GetStore, access: Access, action: Callable[[Store, Mapping[str, Any]], Any]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            access.check_write(request.headers, request.cookies)
            body = await _json_body(request)
        except Exception as e:
            status, error = _error(e)
            return json_response(status, error)
        return await _call(lambda: action(get_store(), body))

    return endpoint


def _session_routes(access: Access) -> list[Any]:
    from starlette.routing import Route

    async def session(request: Request) -> Response:
        cookie = request.cookies.get(COOKIE)
        level = access.session_level(cookie)
        return json_response(
            200,
            {
                "writable": access.writable,
                "private": access.private,
                "signed_in": level is not None,
                "can_write": level == "write",
                "csrf": access.csrf_for(cookie) if level and cookie else None,
            },
        )

    async def login(request: Request) -> Response:
        try:
            check_same_origin(request.headers)
            body = await _json_body(request)
            if not (access.write or access.read):
                raise WriteRefused(403, "this UI is read-only: it was started without a token")
            level = access.level(str(body.get("token", "")))
            if level is None:
                raise WriteRefused(401, "wrong token")
        except Exception as e:
            status, error = _error(e)
            return json_response(status, error)
        cookie = access.new_session(level)
        body = {"signed_in": True, "can_write": level == "write", "csrf": access.csrf_for(cookie)}
        response = json_response(200, body)
        path = request.scope.get("root_path") or "/"
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path=path)
        return response

    async def logout(request: Request) -> Response:
        response = json_response(200, {"signed_in": False})
        response.delete_cookie(COOKIE, path=request.scope.get("root_path") or "/")
        return response

    return [
        Route("/ui/api/session", session, methods=["GET"]),
        Route("/ui/api/login", login, methods=["POST"]),
        Route("/ui/api/logout", logout, methods=["POST"]),
    ]


def _artifact_routes(get_store: GetStore, access: Access, reader: ArtifactReader) -> list[Any]:
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse
    from starlette.routing import Route

    async def listing(request: Request) -> Response:
        if (refused := _refused(access, request)) is not None:
            return refused
        run_id = request.path_params["run_id"]
        path = request.query_params.get("path") or None
        return await _call(lambda: list_artifacts(get_store(), run_id, path, reader=reader))

    async def file(request: Request) -> Response:
        if (refused := _refused(access, request)) is not None:
            return refused
        run_id = request.path_params["run_id"]
        path = request.query_params.get("path", "")
        preview = request.query_params.get("download") != "1"
        try:
            found = await in_store_thread(
                lambda: fetch_artifact(get_store(), run_id, path, preview=preview, reader=reader)
            )
        except Exception as e:
            status, error = _error(e)
            return json_response(status, error)
        return FileResponse(
            found.path,
            media_type=found.media_type,
            filename=None if preview else found.name,
            content_disposition_type="inline" if preview else "attachment",
            background=BackgroundTask(found.cleanup),
        )

    return [
        Route("/ui/api/runs/{run_id}/artifacts", listing, methods=["GET"]),
        Route("/ui/api/runs/{run_id}/artifact", file, methods=["GET"]),
    ]


def _run_detail(store: Store, run_id: str, reader: ArtifactReader) -> dict[str, Any]:
    """The run page's data; its artifact location is where the browser reads the files."""
    row = _runs_api.run_detail(store, run_id)
    location = reader.location(store, run_id)
    if location is not None:
        row["system"]["artifact_uri"] = location
    return row


def api_routes(
    get_store: GetStore, access: Access, reader: ArtifactReader | None = None
) -> list[Any]:
    """Every ``/ui/api`` route of the UI; ``reader`` says where run artifacts are read."""
    from starlette.routing import Route

    artifacts = reader or ArtifactReader()

    readers: dict[str, Reader] = {
        "experiments": _runs_api.experiments,
        "runs": _runs_api.runs_page,
        "compare": _runs_api.run_rows,
        "metric-history": _runs_api.metric_histories,
        "models": _registry_api.models_page,
        "model": _registry_api.model_detail,
        "version": _registry_api.version_card,
        "diff": _registry_api.version_diff,
    }
    routes = [
        Route(f"/ui/api/{name}", _reader(get_store, access, handler), methods=["GET"])
        for name, handler in readers.items()
    ]

    async def run(request: Request) -> Response:
        if (refused := _refused(access, request)) is not None:
            return refused
        run_id = request.path_params["run_id"]
        return await _call(lambda: _run_detail(get_store(), run_id, artifacts))

    routes.append(Route("/ui/api/runs/{run_id}", run, methods=["GET"]))
    routes += _artifact_routes(get_store, access, artifacts)
    for name, action in _registry_api.ACTIONS.items():
        routes.append(
            Route(f"/ui/api/actions/{name}", _writer(get_store, access, action), methods=["POST"])
        )
    routes += _session_routes(access)
    return routes
