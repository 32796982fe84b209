"""Starting the scoring server: the listening socket, uvicorn, and worker processes.

Start-up order is what makes "ready" mean ready: the socket is bound first (so a busy port
fails at once), the model is loaded (by every worker), and only then does the socket start
listening. Before that a client gets "connection refused", never an answer from a process
without a model.

With several workers the parent process owns the listening socket: it accepts each connection
and hands it to the workers in turn (the descriptor travels over a Unix socket pair), so 8
keep-alive connections land 4 and 4 on two workers. Workers sharing one listening socket
instead take connections in a race, which often leaves one worker with most of them and its
sibling idle. The parent also restarts a worker that dies (handing it connections only once it
has loaded the model again) and stops them all on SIGTERM or Ctrl-C.

The pieces live below this module: the socket in ``_sockets``, uvicorn and the worker process in
``_worker``, the parent of several workers in ``_supervisor``.
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import time
from dataclasses import replace
from typing import Any

from modelpack.serving._app import AppConfig, ScoringApp
from modelpack.serving._grpc import start_for_app
from modelpack.serving._repository import (
    ModelSource,
    ModelTable,
    load_source,
    repository_sources,
    unique_names,
)
from modelpack.serving._sockets import BACKLOG, address, bind
from modelpack.serving._supervisor import Supervisor
from modelpack.serving._worker import uvicorn_server

__all__ = ["check_sources", "load_app", "run", "serve_models"]

log = logging.getLogger("modelpack.serving")


def run(
    load: Any, sock: socket.socket, config: AppConfig, *, workers: int = 1, label: str = ""
) -> None:
    """Serve ``load(config)`` (a function returning the app) on ``sock`` until stopped."""
    if workers <= 1:
        started = time.perf_counter()
        app = load(config)
        log.info("loaded %s in %.2f s", label, time.perf_counter() - started)
        stop_grpc = start_for_app(app)  # the gRPC server, when config.grpc_address is set
        server = uvicorn_server(app)
        sock.listen(BACKLOG)
        log.info("ready: serving %s at %s (1 worker)", label, address(sock))
        try:
            server.run(sockets=[sock])
        finally:
            stop_grpc()
        return
    if not hasattr(socket, "send_fds"):
        raise OSError(0, "several workers need a Unix system (descriptor passing)")
    share_dir = tempfile.mkdtemp(prefix="modelpack-serve-")
    try:
        Supervisor(load, sock, replace(config, metrics_dir=share_dir), workers, label).run()
    finally:
        shutil.rmtree(share_dir, ignore_errors=True)


def load_app(sources: list[ModelSource], config: AppConfig) -> ScoringApp:
    """Load every model of ``sources`` (in this process) and build the app serving them."""
    table = ModelTable(default=config.default_model, directory=config.model_repository)
    for source in sources:
        started = time.perf_counter()
        served = load_source(source, predict_method=config.predict_method)
        table.add(source, served)
        version = f" version {served.version}" if served.version else ""
        log.info("loaded %r%s from %s in %.2f s", source.name, version, source.uri,
                 time.perf_counter() - started)  # fmt: skip
    return ScoringApp(table, config)


def check_sources(sources: list[ModelSource], config: AppConfig) -> None:
    """Refuse, before anything loads, names that clash and a default that is not served."""
    seen = unique_names(sources)
    if not sources and not config.model_repository:
        raise ValueError("no model to serve: give a model URI or --model-repository DIR")
    if config.default_model is not None and config.default_model not in seen:
        raise ValueError(
            f"--default-model {config.default_model!r} is none of the models served "
            f"({', '.join(sorted(seen)) or 'none'})"
        )
    if config.watch_interval and not any(s.watch for s in sources):
        log.warning(
            "--watch-interval is set but no model follows an alias or stage "
            "(models:/<name>@<alias>, models:/<name>/<stage>); nothing will be watched"
        )


def serve_models(
    sources: list[ModelSource],
    config: AppConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
) -> None:
    """Serve several models (each under its name) until stopped: ``modelpack serve``."""
    import functools

    from modelpack._optional import require

    for module in ("orjson", "uvicorn", "httptools"):
        require(module, "serve", purpose="serving")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    if config.model_repository:
        sources = [*sources, *repository_sources(config.model_repository)]
    check_sources(sources, config)
    label = ", ".join(f"{s.name}={s.uri}" if len(sources) > 1 else s.uri for s in sources)
    if config.model_repository:
        label = f"{label} and " * bool(label) + f"the model repository {config.model_repository}"
    sock = bind(host, port)
    try:
        run(functools.partial(load_app, sources), sock, config, workers=workers, label=label)
    finally:
        sock.close()
