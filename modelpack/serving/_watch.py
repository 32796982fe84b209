"""Following changes made elsewhere: registry aliases, and the sibling workers' model loads.

Registry-driven rollout (:class:`Watcher`) follows the version a ``models:/<name>@<alias>``
(or stage) names; :class:`SharedRepository` passes repository loads and unloads on to the
other workers of the server.

Every ``interval`` seconds the watcher asks the store which version each watched model's alias,
stage or ``latest`` points at. When it has moved, the new version is loaded in a thread while
the old one keeps answering, then switched in with one assignment on the event loop: requests
already running finish on the old version, the next ones get the new one, none is refused.

A version that fails to load leaves the old one serving: the error goes to the log, to
``/v2/models/<name>/ready`` (``last_load_error``) and to ``/metrics``; that version is tried
again after a back-off that doubles up to :data:`_MAX_BACKOFF` seconds, in case the failure
was passing (storage briefly unreachable). A store that cannot be reached is logged once per
outage and asked again at the next interval.

Each worker process runs its own watcher, so with several workers each one switches on its own,
within one interval of the others; ``modelpack_model_workers`` in ``/metrics`` shows how many
serve each version.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from modelpack.serving._repository import Entry, current_version, load_source

if TYPE_CHECKING:
    from modelpack.serving._app import ScoringApp

__all__ = ["SharedRepository", "Watcher"]

log = logging.getLogger("modelpack.serving")

_MAX_BACKOFF = 300.0
_SHARE_EVERY = 0.5  # seconds between two reads of the workers' shared repository log


class Watcher:
    """Polls the store for the watched models of one app and switches them when they move."""

    def __init__(self, app: ScoringApp, interval: float) -> None:
        self.app = app
        self.interval = interval
        #: name -> (version that failed, when to try it again, back-off in seconds)
        self._retry: dict[str, tuple[str | None, float, float]] = {}
        self._unreachable: set[str] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for entry in list(self.app.table.entries.values()):
                if entry.source is not None and entry.source.watch and entry.served is not None:
                    try:
                        await self.check(entry)
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # a bug here must not stop the watching
                        log.exception("watching model %r failed", entry.name)

    async def check(self, entry: Entry) -> None:
        """Look up the version ``entry``'s alias names; load and switch to it if it moved."""
        assert entry.source is not None and entry.served is not None
        loop = asyncio.get_running_loop()
        name, uri = entry.name, entry.source.uri
        try:
            version = await loop.run_in_executor(None, current_version, entry.source)
        except Exception as e:
            if name not in self._unreachable:
                log.warning("could not look up %s (still serving version %s): %s: %s",
                            uri, entry.served.version, type(e).__name__, e)  # fmt: skip
                self._unreachable.add(name)
            return
        if name in self._unreachable:
            self._unreachable.discard(name)
            log.info("%s can be looked up again", uri)
        if (
            version == entry.served.version
            or entry.state == "LOADING"
            or self._waiting(name, version)
        ):
            return
        old = entry.served.version
        log.info("%s moved from version %s to %s: loading it beside the old one", uri, old, version)
        started = time.perf_counter()
        entry.state = "LOADING"
        try:
            served = await loop.run_in_executor(
                None, load_source, entry.source, version, self.app.config.predict_method
            )
        except Exception as e:
            self._failed(entry, version, f"{type(e).__name__}: {e}")
            return
        finally:
            if entry.state == "LOADING":
                entry.state = "READY" if entry.served is not None else "UNAVAILABLE"
        if entry.served is None:  # unloaded through the repository API meanwhile
            return
        self.app.install(entry, served)
        self._retry.pop(name, None)
        log.info("%r now serves version %s (was %s; loaded in %.2f s)",
                 name, version, old, time.perf_counter() - started)  # fmt: skip

    def _waiting(self, name: str, version: str | None) -> bool:
        """True while a version that failed to load waits for its next try."""
        retry = self._retry.get(name)
        return retry is not None and retry[0] == version and time.monotonic() < retry[1]

    def _failed(self, entry: Entry, version: str | None, why: str) -> None:
        assert entry.served is not None
        entry.failure = (version, why)
        self.app.metrics.load_failed(entry.name)
        previous = self._retry.get(entry.name)
        backoff = self.interval if previous is None or previous[0] != version else previous[2] * 2
        backoff = min(backoff, _MAX_BACKOFF)
        self._retry[entry.name] = (version, time.monotonic() + backoff, backoff)
        log.error(
            "version %s of %r failed to load; still serving version %s (next try in %.0f s): %s",
            version,
            entry.name,
            entry.served.version,
            backoff,
            why,
        )


class SharedRepository:
    """Repository loads and unloads, passed on to the sibling workers of a multi-worker server.

    The worker that answers ``POST /v2/repository/models/<name>/load`` (or ``/unload``) does it,
    then appends one JSON line to ``repository.log`` in the workers' shared directory; every
    worker reads the lines it has not seen twice a second and does the same. A worker started
    again after a crash reads the log from the start, so it ends up with the same models.
    """

    def __init__(self, app: ScoringApp, directory: str) -> None:
        self.app = app
        self.path = Path(directory) / "repository.log"
        self.offset = 0
        self.pid = os.getpid()

    def record(self, op: str, name: str) -> None:
        line = json.dumps({"pid": self.pid, "op": op, "name": name}).encode() + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one append: lines of several workers never interleave
        finally:
            os.close(fd)

    def _unseen(self) -> list[tuple[str, str]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line being written waits for next time
        self.offset += len(complete)
        ops = []
        for line in complete.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if doc.get("pid") != self.pid:
                ops.append((str(doc.get("op")), str(doc.get("name"))))
        return ops

    async def run(self) -> None:
        from modelpack.serving._errors import HTTPError

        while True:
            await asyncio.sleep(_SHARE_EVERY)
            for op, name in self._unseen():
                entry = self.app.table.entries.get(name)
                if op == "unload" and entry is not None:
                    self.app.unload(entry)
                    log.info("unloaded model %r (as another worker did)", name)
                elif op == "load":
                    try:
                        await self.app.load(name, share=False)
                    except HTTPError as e:  # loaded there, not here: say so, keep serving
                        log.error("could not load model %r as another worker did: %s", name, e)
