"""The parent process of a multi-worker server: accepts connections and deals them out.

One loop over a selector watches the listening socket (once every worker has loaded the
model), each worker's channel (a Unix socket pair: connections go down, status lines come up)
and each worker's exit. Connections go round-robin to the workers that have loaded the model,
so a worker being restarted gets none until it is ready.
"""

from __future__ import annotations

import logging
import multiprocessing
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

from modelpack.serving._app import AppConfig
from modelpack.serving._sockets import BACKLOG, address, nodelay
from modelpack.serving._worker import worker_main

__all__ = ["Supervisor"]

log = logging.getLogger("modelpack.serving")

_MAX_RESTARTS = 5  # within _RESTART_WINDOW seconds, before the supervisor gives up
_RESTART_WINDOW = 60.0
_STOP_TIMEOUT = 15.0


@dataclass
class _Worker:
    index: int
    proc: Any
    channel: socket.socket
    loaded: bool = False


class Supervisor:
    """Starts the workers, listens once all have loaded, hands out connections, restarts."""

    def __init__(
        self, load: Any, sock: socket.socket, config: AppConfig, count: int, label: str
    ) -> None:
        self.fork = sys.platform.startswith("linux")
        self.ctx: Any = multiprocessing.get_context("fork" if self.fork else "spawn")
        self.load, self.sock, self.config, self.count, self.label = load, sock, config, count, label
        self.workers: dict[int, _Worker] = {}
        self.selector = selectors.DefaultSelector()
        self.listening = False
        self.stopping = False
        self.failed = False
        self.turn = 0
        self.restarts: list[float] = []
        self.started = time.perf_counter()

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            for index in range(self.count):
                self._start(index)
            while not self.stopping and not self.failed:
                for key, _ in self.selector.select(timeout=0.5):
                    kind, index = key.data
                    if kind == "accept":
                        self._accept()
                    elif kind == "status":
                        self._status(self.workers[index])
                    elif index in self.workers and self.workers[index].proc.sentinel == key.fd:
                        self._exited(self.workers[index])
                    if self.failed:
                        break
        finally:
            self._terminate()
        if self.failed:
            sys.exit(1)

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def _fail(self, message: str, *args: Any) -> None:
        log.error(message, *args)
        self.failed = True

    # ------------------------------------------------------------------ workers
    def _start(self, index: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        inherited = [self.sock.fileno(), ours.fileno()]
        inherited += [w.channel.fileno() for w in self.workers.values()]
        proc = self.ctx.Process(
            target=worker_main,
            args=(self.load, self.config, theirs, inherited if self.fork else []),
            name=f"modelpack-worker-{index}",
        )
        proc.start()
        theirs.close()
        ours.setblocking(False)
        worker = _Worker(index, proc, ours)
        self.workers[index] = worker
        self.selector.register(ours, selectors.EVENT_READ, ("status", index))
        self.selector.register(proc.sentinel, selectors.EVENT_READ, ("exit", index))

    def _status(self, worker: _Worker) -> None:
        try:
            data = worker.channel.recv(4096)
        except (BlockingIOError, ConnectionError):
            return
        if not data:  # the worker is exiting; its sentinel says how
            self.selector.unregister(worker.channel)
            return
        for line in data.decode(errors="replace").splitlines():
            kind, _, detail = line.partition(" ")
            if kind == "loaded":
                worker.loaded = True
                log.info(
                    "worker %d (pid %d) loaded the model in %s s",
                    worker.index,
                    worker.proc.pid,
                    detail,
                )
            elif not self.listening:
                return self._fail(
                    "worker %d could not load %s: %s", worker.index, self.label, detail
                )
            else:
                log.error("worker %d could not load the model: %s", worker.index, detail)
        if not self.listening and all(w.loaded for w in self.workers.values()):
            self._listen()

    def _listen(self) -> None:
        self.sock.listen(BACKLOG)
        self.sock.setblocking(False)
        self.selector.register(self.sock, selectors.EVENT_READ, ("accept", -1))
        self.listening = True
        log.info(
            "ready: serving %s at %s (%d workers, %.2f s)",
            self.label,
            address(self.sock),
            self.count,
            time.perf_counter() - self.started,
        )

    def _exited(self, worker: _Worker) -> None:
        self.selector.unregister(worker.proc.sentinel)
        if worker.channel.fileno() >= 0:
            try:
                self.selector.unregister(worker.channel)
            except KeyError:
                pass
            worker.channel.close()
        worker.proc.join()
        code = worker.proc.exitcode
        if self.stopping:
            return
        if not self.listening:
            return self._fail(
                "worker %d exited with code %s while loading the model", worker.index, code
            )
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < _RESTART_WINDOW]
        if len(self.restarts) >= _MAX_RESTARTS:
            return self._fail("workers keep dying (last exit code %s); stopping", code)
        self.restarts.append(now)
        log.warning("worker %d exited with code %s; starting a new one", worker.index, code)
        self._start(worker.index)

    # ------------------------------------------------------------------ connections
    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # out of descriptors and the like: keep serving the rest
                log.warning("accept failed: %s", e)
                return
            try:
                nodelay(conn)
                self._hand_over(conn)
            finally:
                conn.close()  # the worker has its own copy now

    def _hand_over(self, conn: socket.socket) -> None:
        order = sorted(self.workers)
        for _ in range(len(order)):
            worker = self.workers[order[self.turn % len(order)]]
            self.turn += 1
            if not worker.loaded or worker.channel.fileno() < 0:
                continue
            try:
                socket.send_fds(worker.channel, [b"c"], [conn.fileno()])
                return
            except OSError:  # its buffer is full or it is gone: try the next one
                continue
        log.warning("no worker could take a connection; closing it")

    def _terminate(self) -> None:
        for worker in self.workers.values():
            if worker.proc.is_alive():
                worker.proc.terminate()
        deadline = time.monotonic() + _STOP_TIMEOUT
        for worker in self.workers.values():
            worker.proc.join(max(0.0, deadline - time.monotonic()))
            if worker.proc.is_alive():
                worker.proc.kill()
                worker.proc.join()
            if worker.channel.fileno() >= 0:
                worker.channel.close()
        self.selector.close()
