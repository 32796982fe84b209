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

from modelpack.serving._app import AppConfig
from modelpack.serving._sockets import BACKLOG, address
from modelpack.serving._supervisor import Supervisor
from modelpack.serving._worker import uvicorn_server

__all__ = ["run"]

log = logging.getLogger("modelpack.serving")


def run(
    load: Any, sock: socket.socket, config: AppConfig, *, workers: int = 1, label: str = ""
) -> None:
    """Serve ``load(config)`` (a function returning the app) on ``sock`` until stopped."""
    if workers <= 1:
        started = time.perf_counter()
        app = load(config)
        log.info("loaded %s in %.2f s", label, time.perf_counter() - started)
        server = uvicorn_server(app)
        sock.listen(BACKLOG)
        log.info("ready: serving %s at %s (1 worker)", label, address(sock))
        server.run(sockets=[sock])
        return
    if not hasattr(socket, "send_fds"):
        raise OSError(0, "several workers need a Unix system (descriptor passing)")
    share_dir = tempfile.mkdtemp(prefix="modelpack-serve-")
    try:
        Supervisor(load, sock, replace(config, metrics_dir=share_dir), workers, label).run()
    finally:
        shutil.rmtree(share_dir, ignore_errors=True)
