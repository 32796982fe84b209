"""The scoring ASGI application: routing, body limits, errors, metrics and access logs.

A plain ASGI callable rather than a framework app: every request is one dict lookup to find
its handler, one ``receive`` loop to read the body under the size limit, and one pair of
``send`` calls to answer. That keeps the per-request cost of the web layer a small fraction of
a typical ``predict``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from modelpack._version import __version__
from modelpack.serving import _v2
from modelpack.serving._batching import Batcher, run_one
from modelpack.serving._errors import HTTPError, model_error
from modelpack.serving._frames import parse_csv, parse_parquet
from modelpack.serving._http import REFUSED
from modelpack.serving._limits import (
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_HEADER_KB,
    DEFAULT_REQUEST_TIMEOUT,
)
from modelpack.serving._metrics import Metrics
from modelpack.serving._output import dumps, encode_predictions
from modelpack.serving._payload import Inputs, parse_json

if TYPE_CHECKING:
    from modelpack.pyfunc import PyFuncModel

__all__ = ["AppConfig", "ScoringApp"]

log = logging.getLogger("modelpack.serving")

JSON = b"application/json"
_Result = tuple[int, bytes, bytes]  # status, body, content type
_MIB = 1024 * 1024


@dataclass(frozen=True)
class AppConfig:
    """Settings of one scoring app (see :func:`modelpack.serving.create_app`)."""

    name: str = "model"
    version: str | None = None
    batching: bool | None = None
    batch_max_size: int = 64
    batch_max_latency_ms: float = 0.0
    max_body_bytes: int = 64 * _MIB
    access_log: bool = True
    metrics_dir: str | None = None
    #: most cells (rows x columns) one request may decode to; refused with 413 beyond
    max_cells: int = DEFAULT_MAX_CELLS
    #: the request line and headers of one request, at most (431 beyond); for the server
    max_header_bytes: int = int(DEFAULT_MAX_HEADER_KB * 1024)
    #: seconds an idle connection stays open, between requests and before the first one
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    #: seconds a request's head and body may take to arrive, from its first byte (408 beyond)
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _mlflow_error(e: HTTPError) -> bytes:
    return orjson.dumps({"error_code": e.code, "message": e.message})


def _v2_error(e: HTTPError) -> bytes:
    return orjson.dumps({"error": e.message})


class ScoringApp:
    """ASGI app serving one :class:`~modelpack.pyfunc.PyFuncModel`."""

    def __init__(self, model: PyFuncModel, config: AppConfig) -> None:
        self.model = model
        self.config = config
        self.metrics = Metrics(config.metrics_dir)
        self.batching = model.row_wise if config.batching is None else config.batching
        #: open connections of this process, when the server counts them (modelpack serve)
        self.connections: Callable[[], int] | None = None
        self._active = 0  # requests being handled
        self._batcher = (
            Batcher(
                model.predict,
                max_rows=config.batch_max_size,
                max_latency=config.batch_max_latency_ms / 1000,
                complete=self._batch_complete,
                on_batch=self.metrics.observe_batch,
            )
            if self.batching
            else None
        )
        self._log = _log_writer() if config.access_log else None
        Handler = Callable[..., Awaitable[_Result]]
        get, post = ("GET", "HEAD"), ("POST",)
        self._routes: dict[str, tuple[tuple[str, ...], Handler]] = {
            "/ping": (get, self._ping),
            "/health": (get, self._ping),
            "/version": (get, self._version),
            "/invocations": (post, self._invocations),
            "/metrics": (get, self._metrics),
            "/v2": (get, self._v2_server),
            "/v2/health/live": (get, self._v2_live),
            "/v2/health/ready": (get, self._v2_ready),
        }

    # ------------------------------------------------------------------ ASGI entry point
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _batch_complete(self, queued: int) -> bool:
        """True when no other request can join the batch now: every request being handled
        has queued, and (when connections are counted) no connection is idle."""
        if queued < self._active:
            return False
        return self.connections is None or self.connections() <= self._active

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self._active += 1
        try:
            await self._answer(scope, receive, send)
        finally:
            self._active -= 1
            if self._batcher is not None:
                self._batcher.poke()

    async def _answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = time.perf_counter()
        path: str = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):  # mounted under a prefix
            path = path[len(root) :] or "/"
        endpoint, args, route = self._route(path)
        headers = [(b"content-type", JSON)]
        try:
            if route is None:
                raise HTTPError(404, "ENDPOINT_NOT_FOUND", f"no endpoint at {path}")
            methods, handler = route
            if scope["method"] not in methods:
                raise HTTPError(
                    405, "METHOD_NOT_ALLOWED", f"{path} accepts {', '.join(methods)} only"
                )
            status, body, ctype = await handler(scope, receive, *args)
            headers[0] = (b"content-type", ctype)
        except Exception as exc:
            if isinstance(exc, RecursionError):  # never a traceback per request
                log.warning("a request to %s recursed without end; answered 400", path)
                exc = HTTPError(400, "BAD_REQUEST", "the request is nested too deeply to read")
            elif not isinstance(exc, HTTPError):
                log.exception("internal error while answering %s %s", scope["method"], path)
                exc = HTTPError(500, "INTERNAL_ERROR", "internal server error; see the server log")
            status = exc.status
            body = _v2_error(exc) if path.startswith("/v2") else _mlflow_error(exc)
            if exc.close:
                headers.append((b"connection", b"close"))
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        elapsed = time.perf_counter() - start
        self.metrics.observe_request(endpoint, status, elapsed)
        if self._log is not None:
            self._access_log(scope, path, status, elapsed, len(body))

    def _route(self, path: str) -> tuple[str, tuple[Any, ...], Any]:
        """(metrics label, handler arguments, (methods, handler)) for a path."""
        route = self._routes.get(path)
        if route is not None:
            return path, (), route
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "v2" or parts[1] != "models":
            return "other", (), None
        name, rest, version = parts[2], parts[3:], None
        if len(rest) >= 2 and rest[0] == "versions":
            version, rest = rest[1], rest[2:]
        action = rest[0] if len(rest) == 1 else "" if not rest else None
        handlers = {"": ("GET", self._v2_metadata), "ready": ("GET", self._v2_model_ready)}
        handlers["infer"] = ("POST", self._v2_infer)
        if action not in handlers:
            return "other", (), None
        method, handler = handlers[action]
        label = "/v2/models/{name}" + (f"/{action}" if action else "")
        methods = (method, "HEAD") if method == "GET" else (method,)
        return label, (name, version), (methods, handler)

    def _access_log(
        self, scope: dict[str, Any], path: str, status: int, elapsed: float, size: int
    ) -> None:
        now = time.time()
        client = scope.get("client")
        line = orjson.dumps(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                + f".{int(now % 1 * 1000):03d}Z",
                "method": scope["method"],
                "path": path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "bytes": size,
                "client": f"{client[0]}:{client[1]}" if client else None,
            }
        )
        try:
            self._log(line + b"\n")  # type: ignore[misc]
        except (OSError, ValueError):  # a closed or full log stream must not fail the request
            pass

    # ------------------------------------------------------------------ request bodies
    async def _read_body(self, scope: dict[str, Any], receive: Any) -> bytes:
        """The request body, refused with 413 as soon as it passes the limit."""
        limit = self.config.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                status = scope.get(REFUSED, 400)  # the protocol may have answered already
                raise HTTPError(status, "BAD_REQUEST", "the client disconnected", close=True)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # ------------------------------------------------------------------ predict
    async def _predict(self, inputs: Inputs) -> Any:
        if self._batcher is not None and inputs.key is not None:
            ok, value = await self._batcher.submit(inputs)
        else:
            ok, value = run_one(self.model.predict, inputs)
            self.metrics.observe_batch(1, inputs.rows)
        if not ok:
            raise model_error(value, inputs.data, inputs.note)
        return value

    # ------------------------------------------------------------------ MLflow protocol
    async def _ping(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, b'{"status":"ok"}', JSON

    async def _version(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, __version__.encode(), b"text/plain; charset=utf-8"

    async def _metrics(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, self.metrics.render().encode(), b"text/plain; version=0.0.4; charset=utf-8"

    async def _invocations(self, scope: dict[str, Any], receive: Any) -> _Result:
        mime = _content_type(_header(scope, b"content-type"))
        if mime not in _PARSERS:
            raise _unsupported(mime)
        body = await self._read_body(scope, receive)
        schema, cells = self.model.input_schema, self.config.max_cells
        if mime == "application/json":
            inputs = parse_json(body, schema, max_cells=cells)
        elif mime == "text/csv":
            inputs = parse_csv(body, schema, max_cells=cells)
        else:
            limit = self.config.max_body_bytes
            inputs = parse_parquet(body, schema, max_cells=cells, max_bytes=limit)
        out = await self._predict(inputs)
        return 200, encode_predictions(out), JSON

    # ------------------------------------------------------------------ Open Inference Protocol
    async def _v2_server(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, dumps({"name": "modelpack", "version": __version__, "extensions": []}), JSON

    async def _v2_live(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, b'{"live":true}', JSON

    async def _v2_ready(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, b'{"ready":true}', JSON

    def _check_model(self, name: str, version: str | None) -> None:
        if name != self.config.name:
            raise HTTPError(
                404,
                "MODEL_NOT_FOUND",
                f"no model {name!r} here; this server serves {self.config.name!r}",
            )
        if version is not None and self.config.version and version != self.config.version:
            raise HTTPError(
                404,
                "MODEL_NOT_FOUND",
                f"no version {version!r} of {name!r} here; this server serves version "
                f"{self.config.version}",
            )

    async def _v2_metadata(
        self, scope: dict[str, Any], receive: Any, name: str, version: str | None
    ) -> _Result:
        self._check_model(name, version)
        meta = _v2.model_metadata(self.model, self.config.name, self.config.version)
        return 200, dumps(meta), JSON

    async def _v2_model_ready(
        self, scope: dict[str, Any], receive: Any, name: str, version: str | None
    ) -> _Result:
        self._check_model(name, version)
        return 200, dumps({"name": name, "ready": True}), JSON

    async def _v2_infer(
        self, scope: dict[str, Any], receive: Any, name: str, version: str | None
    ) -> _Result:
        self._check_model(name, version)
        mime = _content_type(_header(scope, b"content-type"))
        if mime not in ("application/json", ""):
            raise HTTPError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"unsupported content type {mime!r}: infer requests are application/json "
                "(the binary tensor extension is not supported)",
            )
        body = await self._read_body(scope, receive)
        inputs, doc = _v2.infer_inputs(body, self.model, max_cells=self.config.max_cells)
        out = await self._predict(inputs)
        response = _v2.infer_response(out, doc, self.model, self.config.name, self.config.version)
        return 200, dumps(response), JSON


_PARSERS = ("application/json", "text/csv", "application/vnd.apache.parquet")


def _content_type(value: bytes | None) -> str:
    """The media type, lower-cased; refuses charsets other than UTF-8 with 415."""
    if not value:
        return ""
    mime, _, rest = value.decode("latin-1").partition(";")
    for param in rest.split(";"):
        key, _, val = param.strip().partition("=")
        if key.lower() == "charset" and val.strip('"').lower() not in ("utf-8", "utf8"):
            raise HTTPError(
                415, "UNSUPPORTED_MEDIA_TYPE", f"unsupported charset {val!r}: send UTF-8"
            )
    return mime.strip().lower()


def _unsupported(mime: str) -> HTTPError:
    got = f"got {mime!r}" if mime else "the request has no Content-Type header"
    return HTTPError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        f"unsupported content type: {got}; send application/json, text/csv or "
        "application/vnd.apache.parquet",
    )


def _too_large(limit: int) -> HTTPError:
    return HTTPError(
        413,
        "REQUEST_TOO_LARGE",
        f"the request body is larger than the limit of {limit / _MIB:g} MiB; send fewer rows "
        "per request or raise the limit (--max-body-mb)",
        close=True,
    )


def _log_writer() -> Callable[[bytes], Any]:
    """Writes a line to standard error: one ``write`` system call when it is a real file, so
    lines of several workers sharing it never interleave."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an in-memory stream
        return lambda line: sys.stderr.write(line.decode())
    return lambda line: os.write(fd, line)
