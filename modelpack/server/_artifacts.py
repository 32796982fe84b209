"""The artifact proxy: ``/api/2.0/mlflow-artifacts/artifacts[/<path>]`` (MLflow's paths).

Clients read and write artifacts through the server, which passes them to the storage behind
``--artifacts-destination`` (a folder, S3, ...) streamed in chunks: no client needs storage
credentials. Paths are relative to the destination; ``..`` is refused.

An upload is stored as it arrives: the storage's ``put_stream`` reads the request body in a
worker thread (on S3, a multipart upload sends each 16 MiB part while the next is received),
so the client-to-server and server-to-storage legs overlap and memory stays bounded. It is
all or nothing: a body over the limit, shorter than its ``Content-Length``, or cut off by the
client, and any storage error, leave nothing at the path (a file already there is unchanged).
"""

from __future__ import annotations

import asyncio
import logging
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

_log = logging.getLogger("modelpack.server")


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


def _too_large(limit: int) -> ApiError:
    return ApiError(f"artifact over {limit} bytes", "RESOURCE_EXHAUSTED", status=413)


class _Body:
    """A request body as a blocking binary file, for a storage that reads it in threads.

    Each ``read(n)``, from any thread but the event loop's (the storage may read in threads
    of its own), asks the loop for the next ``n`` bytes (one hop per read, so large reads
    cost little) and returns exactly ``n`` until the end of the body. It raises if the body
    goes over ``limit`` or ends short of the declared ``Content-Length``; starlette's
    ``ClientDisconnect`` passes through when the client goes away.
    """

    def __init__(self, request: Request, *, limit: int, declared: int | None) -> None:
        self._loop = asyncio.get_running_loop()  # made in the handler: the server's loop
        self._chunks = request.stream().__aiter__()
        self._limit = limit
        self._declared = declared
        self._rest = b""
        self._ended = False
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        return asyncio.run_coroutine_threadsafe(self._read(size), self._loop).result()

    async def _read(self, size: int) -> bytes:
        parts = [self._rest] if self._rest else []
        have = len(self._rest)
        self._rest = b""
        while (size < 0 or have < size) and not self._ended:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._ended = True
                self._check_complete()
                break
            self.received += len(chunk)
            if self.received > self._limit:
                raise _too_large(self._limit)
            if chunk:
                parts.append(chunk)
                have += len(chunk)
        if 0 <= size < have:  # keep what goes past ``size`` for the next read
            last = parts[-1]
            cut = len(last) - (have - size)
            parts[-1], self._rest = last[:cut], last[cut:]
        return b"".join(parts)

    def _check_complete(self) -> None:
        if self._declared is not None and self.received != self._declared:
            raise ApiError(
                f"the upload ended after {self.received} of the {self._declared} bytes its "
                "Content-Length announced; nothing was stored: send it again"
            )


def routes(server: Server) -> list[Any]:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def download(request: Request) -> Response:
        try:
            path = _path(request)
            stream = await run_in_threadpool(server.storage.open_read, path)
        except Exception as e:
            return error_response(e)
        return StreamingResponse(_chunks(stream), media_type="application/octet-stream")

    async def upload(request: Request) -> Response:
        from starlette.requests import ClientDisconnect

        limit = server.config.max_artifact_bytes
        try:
            path = _path(request, writing=True)
            text = request.headers.get("content-length")
            declared = int(text) if text is not None and text.isdigit() else None
            if declared is not None and declared > limit:
                raise _too_large(limit)
            body = _Body(request, limit=limit, declared=declared)
            await run_in_threadpool(server.storage.put_stream, body, path, size_hint=declared)
        except ClientDisconnect:
            # nobody is left to read an answer; the storage has dropped the partial upload
            _log.warning("upload of %s abandoned: the client disconnected", request.url.path)
            return Response(status_code=400)
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
