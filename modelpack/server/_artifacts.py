"""The artifact proxy: ``/api/2.0/mlflow-artifacts/artifacts[/<path>]`` (MLflow's paths).

Clients read and write artifacts through the server, which passes them to the storage behind
``--artifacts-destination`` (a folder, S3, ...) streamed in chunks: no client needs storage
credentials. Paths are relative to the destination; ``..`` is refused.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from modelpack._storage._base import clean_path
from modelpack.server._errors import ApiError, error_response, json_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from modelpack.server._app import Server

__all__ = ["routes"]

_BASE = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1024 * 1024
#: the server's own records live here; clients may read, not write
_PRIVATE = ".modelpack"


def _path(request: Request, *, writing: bool = False) -> str:
    path = clean_path(request.path_params.get("path", ""))
    if not path:
        raise ApiError("give an artifact path after /artifacts/")
    if writing and (path == _PRIVATE or path.startswith(_PRIVATE + "/")):
        raise ApiError(
            f"{_PRIVATE}/ holds the server's own records; write elsewhere", "PERMISSION_DENIED"
        )
    return path


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def routes(server: Server) -> list[Any]:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def download(request: Request) -> Response:
        try:
            path = _path(request)
            stream = await run_in_threadpool(server.storage.open_read, path)
        except Exception as e:
            return error_response(e)
        return StreamingResponse(_chunks(stream), media_type="application/octet-stream")

    async def upload(request: Request) -> Response:
        limit = server.config.max_artifact_bytes
        try:
            path = _path(request, writing=True)
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise ApiError(f"artifact over {limit} bytes", "RESOURCE_EXHAUSTED", status=413)
            with tempfile.NamedTemporaryFile(prefix="modelpack-upload-") as spool:
                size = 0
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(
                            f"artifact over {limit} bytes", "RESOURCE_EXHAUSTED", status=413
                        )
                    spool.write(chunk)
                spool.flush()
                await run_in_threadpool(server.storage.put_file, spool.name, path)
        except Exception as e:
            return error_response(e)
        return json_response(200, {})

    async def listing(request: Request) -> Response:
        try:
            prefix = clean_path(request.query_params.get("path"))
            found = await run_in_threadpool(server.storage.list, prefix)
        except Exception as e:
            return error_response(e)
        files = []
        for info in found:
            item: dict[str, Any] = {"path": info.path.rpartition("/")[2], "is_dir": info.is_dir}
            if info.file_size is not None:
                item["file_size"] = info.file_size
            files.append(item)
        return json_response(200, {"files": files})

    async def delete(request: Request) -> Response:
        try:
            path = _path(request, writing=True)
            await run_in_threadpool(server.storage.delete_prefix, path)
        except Exception as e:
            return error_response(e)
        return json_response(200, {})

    return [
        Route(_BASE, listing, methods=["GET"]),
        Route(f"{_BASE}/{{path:path}}", download, methods=["GET"]),
        Route(f"{_BASE}/{{path:path}}", upload, methods=["PUT"]),
        Route(f"{_BASE}/{{path:path}}", delete, methods=["DELETE"]),
    ]
