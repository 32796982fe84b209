"""Serving models over HTTP: the MLflow scoring protocol and the Open Inference Protocol.

:func:`create_app` builds a plain ASGI application around one model or several (each under a
name, and a model repository folder), to mount in another ASGI app or run under any ASGI
server; :func:`serve` runs it on uvicorn with several worker processes if asked, and the Open
Inference Protocol over gRPC beside it if asked. ``modelpack serve`` is a thin layer over
:func:`serve`. Needs the ``serve`` extra: ``pip install "modelpack[serve]"`` (and ``grpc`` for
gRPC).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._app import AppConfig, ScoringApp
    from modelpack.serving._repository import ModelSource

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
    default_model: str | None = None,
    watch_interval: float | None = None,
    model_repository: str | os.PathLike[str] | None = None,
    grpc_address: str | None = None,
    predict_method: str | None = None,
) -> AppConfig:
    """The app's settings; limits not given come from their environment variables."""
    from modelpack.serving import _limits
    from modelpack.serving._app import AppConfig

    if batch_max_size < 1:
        raise ValueError(f"batch_max_size must be at least 1, got {batch_max_size}")
    if batch_max_latency_ms < 0 or max_body_mb <= 0:
        raise ValueError("batch_max_latency_ms must be >= 0 and max_body_mb > 0")
    if watch_interval is not None and watch_interval <= 0:
        raise ValueError(f"watch_interval must be greater than 0 seconds, got {watch_interval}")
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
        default_model=default_model,
        watch_interval=watch_interval,
        model_repository=os.fspath(model_repository) if model_repository is not None else None,
        grpc_address=grpc_address,
        predict_method=predict_method,
    )


def _sources(
    model_uri: str | os.PathLike[str] | None,
    name: str | None,
    models: Mapping[str, str | os.PathLike[str]] | None,
) -> list[ModelSource]:
    """The models to serve: ``model_uri`` under ``name`` (or its default name), then
    ``models`` under their keys."""
    from modelpack.serving._repository import model_source

    if name is not None and model_uri is None:
        raise ValueError(
            "name names the model given as model_uri; name the others by their keys in models"
        )
    if isinstance(models, (str, os.PathLike)):
        raise TypeError("models maps names to model URIs, e.g. {'a': 'models:/a@prod'}")
    sources = [model_source(model_uri, name)] if model_uri is not None else []
    sources += [model_source(uri, key) for key, uri in (models or {}).items()]
    return sources


def _grpc_address(host: str, port: int | None) -> str | None:
    """``host:port`` for the gRPC server (an IPv6 host in brackets), or None without a port."""
    if port is None:
        return None
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def create_app(
    model_or_uri: PyFuncModel | str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    models: Mapping[str, str | os.PathLike[str]] | None = None,
    model_repository: str | os.PathLike[str] | None = None,
    default_model: str | None = None,
    watch_interval: float | None = None,
    predict_method: str | None = None,
    batching: bool | None = None,
    batch_max_size: int = 64,
    batch_max_latency_ms: float = 0.0,
    max_body_mb: float = 64.0,
    max_cells: int | None = None,
    access_log: bool = True,
) -> ScoringApp:
    """Build the scoring ASGI app for one model, or for several by name.

    Parameters
    ----------
    model_or_uri : PyFuncModel, str or PathLike, optional
        A loaded model, or any model URI (loaded here, once).
    name : str, optional
        The name ``model_or_uri`` answers to at ``/invocations/{name}`` and
        ``/v2/models/{name}``. Default: the registered model's name for ``models:/`` URIs,
        else the model directory's name.
    models : mapping of str to str or PathLike, optional
        More models to serve, each under its key: ``{"churn": "models:/churn@prod"}``.
    model_repository : str or PathLike, optional
        A folder whose sub-folders holding a model are served too, each under its folder's
        name; the repository endpoints (``/v2/repository/...``) load and unload them.
    default_model : str, optional
        The model ``POST /invocations`` answers with when several are served.
    watch_interval : float, optional
        For ``models:/<name>@<alias>`` (or a stage, or ``latest``): seconds between two looks
        at the store for the version it names; a new version is loaded beside the old one and
        takes over once loaded. Default: never look again.
    predict_method : str, optional
        The model method a request runs when its parameters name none (default: the model's
        own); every model served must have it.
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
        An ASGI 3 application (``await app(scope, receive, send)``). The watcher of
        ``watch_interval`` runs while the ASGI server sends the lifespan events.
    """
    _require_stack(server=False)
    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._app import ScoringApp

    settings = functools.partial(
        _config,
        batching=batching,
        batch_max_size=batch_max_size,
        batch_max_latency_ms=batch_max_latency_ms,
        max_body_mb=max_body_mb,
        access_log=access_log,
        max_cells=max_cells,
        default_model=default_model,
        watch_interval=watch_interval,
        model_repository=model_repository,
        predict_method=predict_method,
    )
    if isinstance(model_or_uri, PyFuncModel):
        if models or model_repository is not None:
            raise ValueError(
                "a loaded model is served alone; to serve several, give every one as a URI "
                "(model_or_uri, models=...)"
            )
        default_name = (model_or_uri.model_dir.name or "model", None)
        if predict_method is not None:
            raise ValueError(
                "predict_method is for models loaded here; for a loaded model, set "
                f"model.default_predict_method = {predict_method!r} before create_app"
            )
        config = settings(name=name, default_name=default_name)
        return ScoringApp(model_or_uri, config)
    from modelpack.serving._repository import repository_sources
    from modelpack.serving._server import check_sources, load_app

    sources = _sources(model_or_uri, name, models)
    config = settings(
        name=sources[0].name if len(sources) == 1 else None, default_name=("model", None)
    )
    if config.model_repository:
        sources += repository_sources(config.model_repository)
    check_sources(sources, config)
    return load_app(sources, config)


def serve(
    model_uri: str | os.PathLike[str] | None = None,
    *,
    models: Mapping[str, str | os.PathLike[str]] | None = None,
    model_repository: str | os.PathLike[str] | None = None,
    default_model: str | None = None,
    watch_interval: float | None = None,
    predict_method: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    grpc_port: int | None = None,
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
    """Serve one or more models over HTTP (and gRPC) until interrupted: ``modelpack serve``.

    ``serve("models:/churn@prod")`` serves one model; ``serve(models={"a": uri_a, "b":
    uri_b})`` serves several, each under its name, and ``model_repository`` adds every model
    folder of a directory. Binds ``host:port`` first, loads every model in each of
    ``workers`` processes, and starts listening only once every worker has loaded them.

    ``grpc_port`` also serves the Open Inference Protocol over gRPC on that port of ``host``
    (0 picks one; needs the ``grpc`` extra). ``max_header_kb`` caps a request's line and
    headers (431 beyond; default 64), ``keep_alive_timeout`` closes a connection idle that
    many seconds (default 5), ``request_timeout`` answers 408 and closes a connection whose
    request has not fully arrived that many seconds after its first byte (default 30). Each
    one not given is read from ``MODELPACK_SERVE_MAX_HEADER_KB``,
    ``MODELPACK_SERVE_KEEP_ALIVE_TIMEOUT`` or ``MODELPACK_SERVE_REQUEST_TIMEOUT``. The other
    parameters are those of :func:`create_app`.
    """
    _require_stack(server=True)
    from modelpack.serving._server import serve_models

    if grpc_port is not None:
        from modelpack.serving._grpc import check_available

        check_available()  # before any model loads: a missing extra should not cost a load first
    sources = _sources(model_uri, name, models)
    config = _config(
        name=sources[0].name if len(sources) == 1 else None,
        default_name=("model", None),
        batching=batching,
        batch_max_size=batch_max_size,
        batch_max_latency_ms=batch_max_latency_ms,
        max_body_mb=max_body_mb,
        access_log=access_log,
        max_cells=max_cells,
        max_header_kb=max_header_kb,
        keep_alive_timeout=keep_alive_timeout,
        request_timeout=request_timeout,
        default_model=default_model,
        watch_interval=watch_interval,
        model_repository=model_repository,
        grpc_address=_grpc_address(host, grpc_port),
        predict_method=predict_method,
    )
    serve_models(sources, config, host=host, port=port, workers=workers)
