"""The scoring ASGI application: routing, body limits, errors, metrics and access logs.

A plain ASGI callable rather than a framework app: every request is one dict lookup to find
its handler, one ``receive`` loop to read the body under the size limit, and one pair of
``send`` calls to answer. That keeps the per-request cost of the web layer a small fraction of
a typical ``predict``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from modelpack._version import __version__
from modelpack.exceptions import ModelNotFoundError
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
from modelpack.serving._repository import Entry, ModelSource, ModelTable, Served, load_source

if TYPE_CHECKING:
    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._watch import SharedRepository

__all__ = ["AppConfig", "ScoringApp"]

log = logging.getLogger("modelpack.serving")

JSON = b"application/json"
# status, body, content type[, one more header (the binary tensor extension's)]
_Result = tuple[int, bytes, bytes] | tuple[int, bytes, bytes, tuple[bytes, bytes]]
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
    #: the model ``/invocations`` (without a name) answers with when several are served
    default_model: str | None = None
    #: seconds between two looks at the store for the version a watched alias or stage names
    watch_interval: float | None = None
    #: a folder whose sub-folders are models, loadable by name through the repository API
    model_repository: str | None = None
    #: host:port of the gRPC Open Inference Protocol server beside this app (None: none)
    grpc_address: str | None = None
    #: the method a request runs when its params name no predict_method (None: the model's own)
    predict_method: str | None = None


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
    """ASGI app serving one :class:`~modelpack.pyfunc.PyFuncModel`, or a table of them by name.

    Given one model, it is served under ``config.name`` (and is the default model of
    ``/invocations``). Given a :class:`ModelTable`, every loaded model answers at
    ``/invocations/<name>`` and ``/v2/models/<name>``; the repository endpoints load and
    unload models while the server runs, and a watcher switches models served from a
    registry alias to the version the alias names (see ``_watch``).
    """

    def __init__(self, model: PyFuncModel | ModelTable, config: AppConfig) -> None:
        if isinstance(model, ModelTable):
            table = model
        else:
            table = ModelTable(default=config.name)
            source = ModelSource(config.name, str(model.model_dir))
            table.add(source, Served(model, version=config.version, uri=source.uri, memory=None))
        self.table = table
        self.config = config
        self.metrics = Metrics(config.metrics_dir)
        self.metrics.models = self._model_gauges
        #: open connections of this process, when the server counts them (modelpack serve)
        self.connections: Callable[[], int] | None = None
        #: requests of this process read and not yet answered, when the server counts them
        self.pending: Callable[[], int] | None = None
        self._active = 0  # requests being handled
        self._batchers: list[Batcher] = []
        for entry in table.entries.values():
            if entry.served is not None:
                self._prepare(entry.served)
        self._refresh()
        self._tasks: list[asyncio.Task[Any]] = []
        self._shared: SharedRepository | None = None
        self._log = _log_writer() if config.access_log else None
        self._log_second, self._log_stamp = -1, ""
        self._log_lines: list[bytes] = []  # written at the end of the loop turn, together
        self._log_size = 0
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
            "/v2/repository/index": (post, self._repository_index),
        }

    # ------------------------------------------------------------------ the model table
    @property
    def model(self) -> PyFuncModel:
        """The default model (the only one, for an app built around one model)."""
        entry = self.table.default_entry()
        if entry is None or entry.served is None:
            raise ModelNotFoundError(f"no default model; {self.table.describe()}")
        return entry.served.model

    def lookup(self, name: str, version: str | None = None) -> PyFuncModel:
        """The model served now as ``name`` (at ``version``, if given).

        For other front ends of the same table (the gRPC servicer): the answer follows loads,
        unloads and alias moves. Raises :class:`~modelpack.exceptions.ModelNotFoundError`
        (a LookupError) naming the models served instead.
        """
        return self.table.get(name, version).model

    def _prepare(self, served: Served) -> None:
        """Give a freshly loaded version its batcher (when its predict is row-wise)."""
        config = self.config
        batching = served.model.row_wise if config.batching is None else config.batching
        if batching:
            served.batcher = Batcher(
                served.model.predict,
                max_rows=config.batch_max_size,
                max_latency=config.batch_max_latency_ms / 1000,
                complete=self._batch_complete,
                on_batch=self.metrics.observe_batch,
                alone=self._alone,
            )

    def _refresh(self) -> None:
        batchers = [e.served.batcher for e in self.table.entries.values() if e.served is not None]
        self._batchers = [b for b in batchers if b is not None]
        self.metrics.touch()

    def install(self, entry: Entry, served: Served) -> None:
        """Serve ``served`` under ``entry``'s name from now on (on the event loop thread).

        One assignment: requests already running finish on the version they started with.
        """
        self._prepare(served)
        entry.served = served
        entry.state = "READY"
        entry.failure = None
        self._refresh()

    def unload(self, entry: Entry) -> None:
        entry.served = None
        entry.state = "UNAVAILABLE"
        self._refresh()

    def _model_gauges(self) -> list[tuple[str, str, int | None]]:
        return [
            (name, e.served.version or "", e.served.memory)
            for name, e in self.table.entries.items()
            if e.served is not None
        ]

    def _served(self, name: str, version: str | None = None) -> Served:
        try:
            return self.table.get(name, version)
        except ModelNotFoundError as e:
            raise HTTPError(404, "MODEL_NOT_FOUND", str(e)) from None

    def _default(self) -> Served:
        entry = self.table.default_entry()
        if entry is not None and entry.served is not None:
            return entry.served
        if entry is not None:
            return self._served(entry.name)  # not loaded: says how to load it
        names = ", ".join(sorted(self.table.entries))
        raise HTTPError(
            400,
            "BAD_REQUEST",
            f"this server serves several models ({names}) and none is the default: POST to "
            "/invocations/<name>, or start the server with --default-model NAME",
        )

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
                self._start_tasks()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                self._flush_log()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start_tasks(self) -> None:
        """The watcher of registry aliases, when a model follows one."""
        interval = self.config.watch_interval
        watched = any(e.source and e.source.watch for e in self.table.entries.values())
        if interval and watched:
            from modelpack.serving._watch import Watcher

            self._tasks.append(asyncio.ensure_future(Watcher(self, interval).run()))
        if self.config.metrics_dir:  # several workers: each follows the others' loads
            from modelpack.serving._watch import SharedRepository

            self._shared = SharedRepository(self, self.config.metrics_dir)
            self._tasks.append(asyncio.ensure_future(self._shared.run()))

    def _alone(self) -> bool:
        """True when the request asking is the only one this process has read and not answered
        (known only when the server counts requests: ``modelpack serve``)."""
        return self.pending is not None and self.pending() <= 1

    def _batch_complete(self, queued: int) -> bool:
        """True when no other request can join the batch now: every request being handled
        has queued, and (when connections are counted) no connection is idle."""
        if len(self._batchers) > 1:  # requests to the other models are active too
            queued = sum(b.queued for b in self._batchers)
        if queued < self._active:
            return False
        return self.connections is None or self.connections() <= self._active

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self._active += 1
        try:
            await self._answer(scope, receive, send)
        finally:
            self._active -= 1
            for batcher in self._batchers:
                batcher.poke()

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
            status, body, ctype, *more = await handler(scope, receive, *args)
            headers[0] = (b"content-type", ctype)
            headers.extend(more)
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
        if len(parts) == 2 and parts[0] == "invocations":
            if parts[1] not in self.table.entries:  # unknown names share one metrics label
                return "/invocations/{name}", (parts[1],), (("POST",), self._invocations_named)
            return path, (parts[1],), (("POST",), self._invocations_named)
        if len(parts) == 5 and parts[:3] == ["v2", "repository", "models"]:
            ops = {"load": self._repository_load, "unload": self._repository_unload}
            if parts[4] in ops:
                label = f"/v2/repository/models/{{name}}/{parts[4]}"
                return label, (parts[3],), (("POST",), ops[parts[4]])
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
        second = int(now)
        if second != self._log_second:  # the date and time to the second, formatted once
            self._log_second = second
            self._log_stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        client = scope.get("client")
        line = orjson.dumps(
            {
                "time": f"{self._log_stamp}.{int((now - second) * 1000):03d}Z",
                "method": scope["method"],
                "path": path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "bytes": size,
                "client": f"{client[0]}:{client[1]}" if client else None,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        # The lines of the requests answered in one loop turn (a batch) go in one write, kept
        # under PIPE_BUF so that workers sharing a pipe never interleave parts of lines.
        if self._log_size + len(line) > _LOG_WRITE:
            self._flush_log()
        self._log_lines.append(line)
        self._log_size += len(line)
        if len(self._log_lines) == 1:
            asyncio.get_running_loop().call_soon(self._flush_log)

    def _flush_log(self) -> None:
        lines = self._log_lines
        if not lines or self._log is None:
            return
        self._log_lines, self._log_size = [], 0
        try:
            self._log(lines[0] if len(lines) == 1 else b"".join(lines))
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
    async def _predict(self, served: Served, inputs: Inputs) -> Any:
        batcher = served.batcher
        if batcher is not None and inputs.key is not None:
            ok, value = await batcher.submit(inputs)
        else:
            ok, value = run_one(served.model.predict, inputs)
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
        return await self._score(scope, receive, self._default())

    async def _invocations_named(self, scope: dict[str, Any], receive: Any, name: str) -> _Result:
        return await self._score(scope, receive, self._served(name))

    async def _score(self, scope: dict[str, Any], receive: Any, served: Served) -> _Result:
        mime = _content_type(_header(scope, b"content-type"))
        if mime not in _PARSERS:
            raise _unsupported(mime)
        body = await self._read_body(scope, receive)
        schema, cells = served.model.input_schema, self.config.max_cells
        if mime == "application/json":
            inputs = parse_json(body, schema, max_cells=cells)
        elif mime == "text/csv":
            inputs = parse_csv(body, schema, max_cells=cells)
        else:
            limit = self.config.max_body_bytes
            inputs = parse_parquet(body, schema, max_cells=cells, max_bytes=limit)
        out = await self._predict(served, inputs)
        return 200, encode_predictions(out), JSON

    # ------------------------------------------------------------------ Open Inference Protocol
    async def _v2_server(self, scope: dict[str, Any], receive: Any) -> _Result:
        extensions = list(_v2.EXTENSIONS)
        return (
            200,
            dumps({"name": "modelpack", "version": __version__, "extensions": extensions}),
            JSON,
        )

    async def _v2_live(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, b'{"live":true}', JSON

    async def _v2_ready(self, scope: dict[str, Any], receive: Any) -> _Result:
        return 200, b'{"ready":true}', JSON

    async def _v2_metadata(
        self, scope: dict[str, Any], receive: Any, name: str, version: str | None
    ) -> _Result:
        served = self._served(name, version)
        meta = _v2.model_metadata(served.model, name, served.version)
        return 200, dumps(meta), JSON

    async def _v2_model_ready(
        self, scope: dict[str, Any], receive: Any, name: str, version: str | None
    ) -> _Result:
        entry = self.table.entries.get(name)
        if entry is None or entry.served is None:
            # the protocol's "not ready" is a 4xx; the body says why and how to load it
            why = str(self._not_found(name))
            return (
                404 if entry is None else 400,
                dumps({"name": name, "ready": False, "error": why}),
                JSON,
            )
        served = self._served(name, version)
        body: dict[str, Any] = {"name": name, "ready": True}
        if served.version is not None:
            body["version"] = served.version
        if entry.failure is not None:  # still ready: the version that failed never replaced it
            failed, why = entry.failure
            body["last_load_error"] = {"version": failed, "error": why}
        return 200, dumps(body), JSON

    def _not_found(self, name: str) -> ModelNotFoundError:
        try:
            self.table.get(name)
        except ModelNotFoundError as e:
            return e
        return ModelNotFoundError(f"model {name!r} is not ready", uri=name)

    async def _v2_infer(
        self, scope: dict[str, Any], receive: Any, name: str, version: str | None
    ) -> _Result:
        served = self._served(name, version)
        mime = _content_type(_header(scope, b"content-type"))
        if mime not in ("application/json", "application/octet-stream", ""):
            raise HTTPError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"unsupported content type {mime!r}: infer requests are application/json, or "
                "application/octet-stream with an Inference-Header-Content-Length header",
            )
        body = await self._read_body(scope, receive)
        model = served.model
        length = _header(scope, _v2.HEADER_LENGTH)
        cells = self.config.max_cells
        inputs, request = _v2.infer_inputs(body, model, max_cells=cells, header_length=length)
        out = await self._predict(served, inputs)
        answer, head = _v2.infer_response(out, request, model, name, served.version)
        if head is None:
            return 200, answer, JSON
        return 200, answer, b"application/octet-stream", (_v2.HEADER_LENGTH, b"%d" % head)

    # ------------------------------------------------------------------ repository extension
    async def _repository_index(self, scope: dict[str, Any], receive: Any) -> _Result:
        body = await self._read_body(scope, receive)
        only_ready = False
        if body.strip():
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError as e:
                raise HTTPError(
                    400, "MALFORMED_REQUEST", f"the body is not valid JSON: {e}"
                ) from None
            only_ready = isinstance(doc, dict) and doc.get("ready") is True
        rows = await asyncio.get_running_loop().run_in_executor(None, self.table.index)
        if only_ready:
            rows = [r for r in rows if r["state"] == "READY"]
        return 200, dumps(rows), JSON

    async def _repository_load(self, scope: dict[str, Any], receive: Any, name: str) -> _Result:
        await self._read_body(scope, receive)  # parameters (model config overrides) are not taken
        await self.load(name)
        return 200, b"{}", JSON

    async def _repository_unload(self, scope: dict[str, Any], receive: Any, name: str) -> _Result:
        await self._read_body(scope, receive)
        entry = self.table.entries.get(name)
        if entry is None:
            raise HTTPError(
                404, "MODEL_NOT_FOUND", f"no model {name!r} here; {self.table.describe()}"
            )
        self.unload(entry)
        log.info("unloaded model %r", name)
        if self._shared is not None:
            self._shared.record("unload", name)
        return 200, b"{}", JSON

    async def load(self, name: str, *, share: bool = True) -> Served:
        """Load (or load again) the model known as ``name``, in a thread, then serve it; with
        several workers, the others follow (unless ``share`` is false)."""
        try:
            source = self.table.source_for(name)
        except ModelNotFoundError as e:
            raise HTTPError(404, "MODEL_NOT_FOUND", str(e)) from None
        entry = self.table.entries.get(name) or self.table.add(source, None)
        if entry.state == "LOADING":
            raise HTTPError(409, "CONFLICT", f"model {name!r} is already being loaded; retry later")
        previous, entry.state = entry.state, "LOADING"
        started = time.perf_counter()
        try:
            served = await asyncio.get_running_loop().run_in_executor(
                None, load_source, source, None, self.config.predict_method
            )
        except Exception as e:
            entry.state = previous if entry.served is not None else "UNAVAILABLE"
            why = f"{type(e).__name__}: {e}"
            entry.failure = (None, why)
            self.metrics.load_failed(name)
            log.error("could not load model %r from %s: %s", name, source.uri, why)
            raise HTTPError(
                400, "LOAD_FAILED", f"model {name!r} could not be loaded: {why}"
            ) from None
        self.install(entry, served)
        log.info("loaded model %r (%s) in %.2f s", name, served.uri, time.perf_counter() - started)
        if share and self._shared is not None:
            self._shared.record("load", name)
        return served


_PARSERS = ("application/json", "text/csv", "application/vnd.apache.parquet")
#: most bytes of access log lines written at once: what a pipe writes without interleaving
_LOG_WRITE = getattr(select, "PIPE_BUF", 512)


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
