"""Running the scoring app under uvicorn, in the server process or in a worker process.

A worker loads the model, tells the parent (over its channel, a Unix socket pair) that it has
loaded it or why it could not, then serves the connections the parent hands it: each arrives as
a file descriptor on the channel.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from typing import Any

from modelpack.serving._app import AppConfig, ScoringApp
from modelpack.serving._grpc import start_for_app
from modelpack.serving._http import protocol_class
from modelpack.serving._sockets import BACKLOG

__all__ = ["uvicorn_server", "worker_main"]


def uvicorn_server(app: ScoringApp, *, channel: socket.socket | None = None) -> Any:
    """A uvicorn server for ``app``; with ``channel``, it serves connections the parent sends."""
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    limits = app.config
    protocol = protocol_class(
        max_header_bytes=limits.max_header_bytes, request_timeout=limits.request_timeout
    )
    app.connections = lambda: protocol.open  # type: ignore[attr-defined]
    app.pending = lambda: protocol.pending  # type: ignore[attr-defined]
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
        backlog=BACKLOG,
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]  # any seconds
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
        stop_grpc = start_for_app(app)  # the gRPC server, when config.grpc_address is set
    except BaseException as e:
        channel.sendall(f"error {type(e).__name__}: {e}".replace("\n", " ").encode() + b"\n")
        sys.exit(1)
    channel.sendall(b"loaded %.3f\n" % (time.perf_counter() - started))
    try:
        uvicorn_server(app, channel=channel).run()
    finally:
        stop_grpc()
