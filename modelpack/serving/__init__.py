"""Serving models over HTTP: the MLflow scoring protocol and the Open Inference Protocol.

:func:`create_app` builds a plain ASGI application around a model, to mount in another ASGI
app or run under any ASGI server; :func:`serve` runs it on uvicorn (what ``modelpack serve``
does), with several worker processes if asked. Needs the ``serve`` extra:
``pip install "modelpack[serve]"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._app import AppConfig, ScoringApp

__all__ = ["create_app", "serve"]

_MIB = 1024 * 1024


def _require_stack(*, server: bool) -> None:
    """Raise MissingDependencyError naming the ``serve`` extra when part of it is missing."""
    from modelpack._optional import require

    # pandas and pyarrow (also in the extra) are checked when a CSV or Parquet body arrives,
    # so a JSON-only deployment without them still starts.
    require("orjson", "serve", purpose="serving")
    if server:
        require("uvicorn", "serve", purpose="serving")
        require("httptools", "serve", purpose="serving")  # uvicorn's parser, which _server uses


def _name_of(model_uri: str | os.PathLike[str]) -> tuple[str, str | None]:
    """The model name and version the Open Inference Protocol endpoints answer to."""
    from modelpack._uri import parse_uri

    uri = parse_uri(model_uri)
    if uri.kind == "models" and uri.name:
        return uri.name, str(uri.version) if uri.version is not None else None
    path = Path(uri.path or ".")
    if uri.kind == "path":
        path = path.absolute()
    return path.name or "model", None


def _config(
    *,
    name: str | None,
    default_name: tuple[str, str | None],
    batching: bool | None,
    batch_max_size: int,
    batch_max_latency_ms: float,
    max_body_mb: float,
    access_log: bool,
    max_cells: int | None = None,
    max_header_kb: float | None = None,
    keep_alive_timeout: float | None = None,
    request_timeout: float | None = None,
) -> AppConfig:
    """The app's settings; limits not given come from their environment variables."""
    from modelpack.serving import _limits
    from modelpack.serving._app import AppConfig

    if batch_max_size < 1:
        raise ValueError(f"batch_max_size must be at least 1, got {batch_max_size}")
    if batch_max_latency_ms < 0 or max_body_mb <= 0:
        raise ValueError("batch_max_latency_ms must be >= 0 and max_body_mb > 0")
    header_kb = _limits.setting("max_header_kb", max_header_kb, _limits.DEFAULT_MAX_HEADER_KB)
    return AppConfig(
        name=name or default_name[0],
        version=default_name[1] if not name else None,
        batching=batching,
        batch_max_size=batch_max_size,
        batch_max_latency_ms=batch_max_latency_ms,
        max_body_bytes=int(max_body_mb * _MIB),
        access_log=access_log,
        max_cells=max(1, int(_limits.setting("max_cells", max_cells, _limits.DEFAULT_MAX_CELLS))),
        max_header_bytes=max(1024, int(header_kb * 1024)),
        keep_alive_timeout=_limits.setting(
            "keep_alive_timeout", keep_alive_timeout, _limits.DEFAULT_KEEP_ALIVE_TIMEOUT
        ),
        request_timeout=_limits.setting(
            "request_timeout", request_timeout, _limits.DEFAULT_REQUEST_TIMEOUT
        ),
    )


def create_app(
    model_or_uri: PyFuncModel | str | os.PathLike[str],
    *,
    name: str | None = None,
    batching: bool | None = None,
    batch_max_size: int = 64,
    batch_max_latency_ms: float = 0.0,
    max_body_mb: float = 64.0,
    max_cells: int | None = None,
    access_log: bool = True,
) -> ScoringApp:
    """Build the scoring ASGI app for one model.

    Parameters
    ----------
    model_or_uri : PyFuncModel, str or PathLike
        A loaded model, or any model URI (loaded here, once).
    name : str, optional
        The name the ``/v2/models/{name}`` endpoints answer to. Default: the registered
        model's name for ``models:/`` URIs, else the model directory's name.
    batching : bool, optional
        Merge concurrent requests into one ``predict`` call. Default: on when the model's
        predict is row-wise (``PyFuncModel.row_wise``).
    batch_max_size : int
        Most rows merged into one call; a larger request runs alone.
    batch_max_latency_ms : float
        How long a lone request waits for others to join its batch. 0 (the default) waits
        only for requests already received; batches still grow under load.
    max_body_mb : float
        Request bodies larger than this (MiB) are refused with 413 while they stream in.
    max_cells : int, optional
        Most cells (rows x columns; a row counts at least one) one request may decode to;
        more is refused with 413, before the data is built where the format allows.
        Default: ``MODELPACK_SERVE_MAX_CELLS``, else 1,000,000.
    access_log : bool
        Write one JSON line per request to standard error.

    Returns
    -------
    ScoringApp
        An ASGI 3 application (``await app(scope, receive, send)``).
    """
    _require_stack(server=False)
    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._app import ScoringApp

    default_name: tuple[str, str | None]
    if isinstance(model_or_uri, PyFuncModel):
        model, default_name = model_or_uri, (model_or_uri.model_dir.name or "model", None)
    else:
        from modelpack._api import load_model

        default_name = _name_of(model_or_uri)
        model = load_model(os.fspath(model_or_uri))
    config = _config(
        name=name,
        default_name=default_name,
        batching=batching,
        batch_max_size=batch_max_size,
        batch_max_latency_ms=batch_max_latency_ms,
        max_body_mb=max_body_mb,
        access_log=access_log,
        max_cells=max_cells,
    )
    return ScoringApp(model, config)


def _load_app(model_uri: str, config: AppConfig) -> Any:
    from modelpack._api import load_model
    from modelpack.serving._app import ScoringApp

    return ScoringApp(load_model(model_uri), config)


def serve(
    model_uri: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    name: str | None = None,
    batching: bool | None = None,
    batch_max_size: int = 64,
    batch_max_latency_ms: float = 0.0,
    max_body_mb: float = 64.0,
    max_cells: int | None = None,
    max_header_kb: float | None = None,
    keep_alive_timeout: float | None = None,
    request_timeout: float | None = None,
    access_log: bool = True,
) -> None:
    """Serve a model over HTTP until interrupted (what ``modelpack serve`` runs).

    Binds ``host:port`` first, loads the model in each of ``workers`` processes, and starts
    listening only once every worker has loaded it. ``max_header_kb`` caps a request's line
    and headers (431 beyond; default 64), ``keep_alive_timeout`` closes a connection idle
    that many seconds (default 5), ``request_timeout`` answers 408 and closes a connection
    whose request has not fully arrived that many seconds after its first byte (default 30).
    Each one not given is read from ``MODELPACK_SERVE_MAX_HEADER_KB``,
    ``MODELPACK_SERVE_KEEP_ALIVE_TIMEOUT`` or ``MODELPACK_SERVE_REQUEST_TIMEOUT``. The other
    parameters are those of :func:`create_app`.
    """
    import functools
    import logging

    _require_stack(server=True)
    from modelpack.serving._server import run
    from modelpack.serving._sockets import bind

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    config = _config(
        name=name,
        default_name=_name_of(model_uri),
        batching=batching,
        batch_max_size=batch_max_size,
        batch_max_latency_ms=batch_max_latency_ms,
        max_body_mb=max_body_mb,
        access_log=access_log,
        max_cells=max_cells,
        max_header_kb=max_header_kb,
        keep_alive_timeout=keep_alive_timeout,
        request_timeout=request_timeout,
    )
    sock = bind(host, port)
    try:
        run(
            functools.partial(_load_app, os.fspath(model_uri)),
            sock,
            config,
            workers=workers,
            label=os.fspath(model_uri),
        )
    finally:
        sock.close()
