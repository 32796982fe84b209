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

Every connection gets TCP_NODELAY. uvicorn writes a response's head and body separately;
without the option Nagle's algorithm holds the body back until the client's delayed ACK, about
40 ms later on Linux, and plain uvicorn leaves the option off on sockets shared between worker
processes under the asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import replace
from typing import Any

from modelpack.serving._app import AppConfig, ScoringApp

__all__ = ["address", "bind", "nodelay", "run", "worker_main"]

log = logging.getLogger("modelpack.serving")

_BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A bound, not yet listening, TCP socket; raises OSError naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror}") from None
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def nodelay(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a Unix socket)
        pass


def _protocol_class() -> type:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Protocol(HttpToolsProtocol):
        #: open connections in this process; the batcher reads it to know who may still send
        open = 0

        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                nodelay(sock)
            Protocol.open += 1
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            Protocol.open -= 1
            super().connection_lost(exc)

    return Protocol


def _uvicorn_server(app: ScoringApp, *, channel: socket.socket | None = None) -> Any:
    """A uvicorn server for ``app``; with ``channel``, it serves connections the parent sends."""
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    protocol = _protocol_class()
    app.connections = lambda: protocol.open  # type: ignore[attr-defined]
    config = uvicorn.Config(
        app,
        loop=loop,
        http=protocol,
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        backlog=_BACKLOG,
        timeout_graceful_shutdown=10,
    )
    if channel is None:
        return uvicorn.Server(config)
    return _handoff_server_class()(config, channel)


def _handoff_server_class() -> type:
    import uvicorn

    class HandoffServer(uvicorn.Server):
        """A uvicorn server fed with connections accepted by the parent process."""

        def __init__(self, config: Any, channel: socket.socket) -> None:
            super().__init__(config)
            self.channel = channel
            self.parent = os.getppid()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await self.lifespan.startup()
            if self.lifespan.should_exit:
                sys.exit(3)
            loop = asyncio.get_running_loop()
            config = self.config

            def factory() -> Any:
                return config.http_protocol_class(  # type: ignore[call-arg]
                    config=config,
                    server_state=self.server_state,
                    app_state=self.lifespan.state,
                    _loop=loop,
                )

            self.servers = []
            self.channel.setblocking(False)
            loop.add_reader(self.channel.fileno(), self._receive, loop, factory)
            self.started = True

        def _receive(self, loop: asyncio.AbstractEventLoop, factory: Any) -> None:
            try:
                data, fds, _, _ = socket.recv_fds(self.channel, 256, 64)
            except BlockingIOError:
                return
            if not data:  # the parent is gone
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                conn = socket.socket(fileno=fd)
                loop.create_task(loop.connect_accepted_socket(factory, conn))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
            await super().shutdown(sockets)

        async def on_tick(self, counter: int) -> bool:
            if counter % 10 == 0 and os.getppid() != self.parent:  # orphaned: stop
                return True
            return await super().on_tick(counter)

    return HandoffServer


def run(
    load: Any, sock: socket.socket, config: AppConfig, *, workers: int = 1, label: str = ""
) -> None:
    """Serve ``load(config)`` (a function returning the app) on ``sock`` until stopped."""
    if workers <= 1:
        started = time.perf_counter()
        app = load(config)
        log.info("loaded %s in %.2f s", label, time.perf_counter() - started)
        server = _uvicorn_server(app)
        sock.listen(_BACKLOG)
        log.info("ready: serving %s at %s (1 worker)", label, address(sock))
        server.run(sockets=[sock])
        return
    if not hasattr(socket, "send_fds"):
        raise OSError(0, "several workers need a Unix system (descriptor passing)")
    from modelpack.serving._supervisor import Supervisor

    share_dir = tempfile.mkdtemp(prefix="modelpack-serve-")
    try:
        Supervisor(load, sock, replace(config, metrics_dir=share_dir), workers, label).run()
    finally:
        shutil.rmtree(share_dir, ignore_errors=True)


def worker_main(load: Any, config: AppConfig, channel: socket.socket, inherited: list[int]) -> None:
    """A worker process: load the model, report to the parent, serve what it hands over."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the supervisor's handlers are not ours
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd in inherited:  # the parent's listening socket and its ends of sibling channels
        try:
            os.close(fd)
        except OSError:
            pass
    started = time.perf_counter()
    try:
        app = load(config)
    except BaseException as e:
        channel.sendall(f"error {type(e).__name__}: {e}".replace("\n", " ").encode() + b"\n")
        sys.exit(1)
    channel.sendall(b"loaded %.3f\n" % (time.perf_counter() - started))
    _uvicorn_server(app, channel=channel).run()
