"""Request and batch metrics, written in the Prometheus text format.

Each worker counts in memory (a few dict and list updates per request). With several workers
each one also writes its counts to a small JSON file in a directory they share, at most twice
a second, and ``/metrics`` adds up every worker's file, so a scrape that lands on any worker
sees the whole server (other workers' counts up to half a second old).

gRPC calls (the Open Inference Protocol over gRPC, answered on the gRPC server's threads) are
counted under the same metric names with ``protocol="grpc"``, the method as ``endpoint`` and the
gRPC status code name as ``status``; HTTP series keep their labels (no ``protocol`` label), so
queries written for them still match. The gRPC counts have their own lock and, with several
workers, their own file per worker (``worker-<pid>-grpc.json``), written from a timer thread:
the event loop's counts are never read from another thread.

Per model: the memory each loaded version took (the growth of the worker's resident memory
while it loaded, added up over the workers), how many workers serve each version (during an
alias move, old and new side by side), and the loads that failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from bisect import bisect_left
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Metrics"]

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
_DUMP_EVERY = 0.5  # seconds

_HELP = {
    "modelpack_requests_total": (
        "counter",
        "Requests answered, by endpoint and status; gRPC calls with protocol=grpc, the method "
        "as endpoint and the status code name as status.",
    ),
    "modelpack_request_duration_seconds": (
        "histogram",
        "Time from the request's arrival to its answer, by endpoint (and protocol for gRPC).",
    ),
    "modelpack_batch_requests": ("histogram", "Requests served by one predict call."),
    "modelpack_batch_rows": ("histogram", "Rows passed to one predict call."),
    "modelpack_model_memory_bytes": (
        "gauge",
        "Growth of resident memory while the model version loaded, summed over workers.",
    ),
    "modelpack_model_workers": ("gauge", "Workers serving the model version."),
    "modelpack_model_load_failures_total": (
        "counter",
        "Loads of a model (repository load or alias move) that failed; the old version stayed.",
    ),
}

#: (name, version or "", memory in bytes or None) of every model a worker serves
ModelGauges = Callable[[], "list[tuple[str, str, int | None]]"]


class _Histogram:
    __slots__ = ("bounds", "count", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1


def _count(
    counts: dict[tuple[str, Any], int],
    latency: dict[str, _Histogram],
    endpoint: str,
    status: Any,
    seconds: float,
) -> None:
    """One request to ``endpoint`` answered with ``status`` in ``seconds`` (REST or gRPC)."""
    key = (endpoint, status)
    counts[key] = counts.get(key, 0) + 1
    hist = latency.get(endpoint)
    if hist is None:
        hist = latency[endpoint] = _Histogram(LATENCY_BUCKETS)
    hist.observe(seconds)


class Metrics:
    """Counters and histograms of one worker, optionally shared with its sibling workers."""

    def __init__(self, share_dir: str | os.PathLike[str] | None = None) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, _Histogram] = {}
        self.batch_requests = _Histogram(SIZE_BUCKETS)
        self.batch_rows = _Histogram(SIZE_BUCKETS)
        self._share_dir = Path(share_dir) if share_dir else None
        self._own_file = self._share_dir / f"worker-{os.getpid()}.json" if self._share_dir else None
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None
        #: the models this worker serves now (set by the app)
        self.models: ModelGauges = list
        self.load_failures: dict[str, int] = {}
        # gRPC calls: updated from the gRPC server's threads, hence the lock
        self._grpc_lock = threading.Lock()
        self.grpc_requests: dict[tuple[str, str], int] = {}
        self.grpc_latency: dict[str, _Histogram] = {}
        self._grpc_timer: threading.Timer | None = None

    def touch(self) -> None:
        """Something other than a request changed (a model loaded): share it soon."""
        if self._share_dir is not None and not self._dirty:
            self._dirty = True
            self._schedule_dump()

    def load_failed(self, name: str) -> None:
        self.load_failures[name] = self.load_failures.get(name, 0) + 1
        self.touch()

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        _count(self.requests, self.latency, endpoint, status, seconds)
        if self._share_dir is not None and not self._dirty:
            self._dirty = True
            self._schedule_dump()

    def observe_grpc(self, method: str, code: str, seconds: float) -> None:
        """Count one gRPC call (any thread): ``method`` as ``/package.Service/Method``, ``code``
        the name of its status code (``OK``, ``NOT_FOUND``, ...)."""
        with self._grpc_lock:
            _count(self.grpc_requests, self.grpc_latency, method, code, seconds)
            if self._share_dir is not None and self._grpc_timer is None:
                self._grpc_timer = threading.Timer(_DUMP_EVERY, self._dump_grpc)
                self._grpc_timer.daemon = True
                self._grpc_timer.start()

    def _grpc_snapshot(self) -> dict[str, Any]:
        with self._grpc_lock:
            return {
                "grpc_requests": [[m, code, n] for (m, code), n in self.grpc_requests.items()],
                "grpc_latency": {
                    m: [list(h.counts), h.total, h.count] for m, h in self.grpc_latency.items()
                },
            }

    def _dump_grpc(self) -> None:
        with self._grpc_lock:
            self._grpc_timer = None
        assert self._own_file is not None
        _write_json(self._own_file.with_name(f"{self._own_file.stem}-grpc.json"),
                    self._grpc_snapshot())  # fmt: skip

    def observe_batch(self, requests: int, rows: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)

    # ------------------------------------------------------------------ sharing
    def _schedule_dump(self) -> None:
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not serving yet: the first request dumps
                self._dirty = False
                return
            self._timer = loop.call_later(_DUMP_EVERY, self._dump)

    def _dump(self) -> None:
        self._timer = None
        self._dirty = False
        assert self._own_file is not None
        _write_json(self._own_file, self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": [[ep, status, n] for (ep, status), n in self.requests.items()],
            "latency": {ep: [h.counts, h.total, h.count] for ep, h in self.latency.items()},
            "batch_requests": [self.batch_requests.counts, self.batch_requests.total],
            "batch_rows": [self.batch_rows.counts, self.batch_rows.total],
            "models": [list(m) for m in self.models()],
            "load_failures": self.load_failures,
        }

    def _snapshots(self) -> list[dict[str, Any]]:
        snaps = [self.snapshot(), self._grpc_snapshot()]
        if self._share_dir is not None:
            assert self._own_file is not None
            own = {self._own_file.name, f"{self._own_file.stem}-grpc.json"}
            for path in sorted(self._share_dir.glob("worker-*.json")):
                if path.name in own:
                    continue
                try:
                    snaps.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue
        return snaps

    # ------------------------------------------------------------------ rendering
    def render(self) -> str:
        """Every worker's counts added up, as Prometheus text exposition."""
        requests: dict[tuple[str, int], int] = {}
        latency: dict[str, tuple[list[int], float]] = {}
        batches: dict[str, tuple[list[int], float]] = {}
        memory: dict[tuple[str, str], int] = {}
        workers: dict[tuple[str, str], int] = {}
        failures: dict[str, int] = {}
        grpc_requests: dict[tuple[str, str], int] = {}
        grpc_latency: dict[str, tuple[list[int], float]] = {}
        for snap in self._snapshots():
            for name, version, size in snap.get("models", ()):
                if size is not None:
                    memory[(name, version)] = memory.get((name, version), 0) + size
                workers[(name, version)] = workers.get((name, version), 0) + 1
            for name, n in snap.get("load_failures", {}).items():
                failures[name] = failures.get(name, 0) + n
            for ep, status, n in snap.get("requests", ()):
                requests[(ep, status)] = requests.get((ep, status), 0) + n
            for ep, (counts, total, _) in snap.get("latency", {}).items():
                latency[ep] = _add(latency.get(ep), counts, total)
            for method, code, n in snap.get("grpc_requests", ()):
                grpc_requests[(method, code)] = grpc_requests.get((method, code), 0) + n
            for method, (counts, total, _) in snap.get("grpc_latency", {}).items():
                grpc_latency[method] = _add(grpc_latency.get(method), counts, total)
            for name in ("batch_requests", "batch_rows"):
                if name in snap:
                    counts, total = snap[name]
                    batches[name] = _add(batches.get(name), counts, total)
        lines = _header("modelpack_requests_total")
        for (ep, status), n in sorted(requests.items()):
            lines.append(f'modelpack_requests_total{{endpoint="{ep}",status="{status}"}} {n}')
        for (method, code), n in sorted(grpc_requests.items()):
            lines.append(
                f'modelpack_requests_total{{protocol="grpc",endpoint="{method}",status="{code}"}} {n}'
            )
        lines += _header("modelpack_request_duration_seconds")
        for labels, (counts, total) in [
            *((f'endpoint="{ep}"', v) for ep, v in sorted(latency.items())),
            *((f'protocol="grpc",endpoint="{m}"', v) for m, v in sorted(grpc_latency.items())),
        ]:
            lines += _histogram(
                "modelpack_request_duration_seconds", LATENCY_BUCKETS, counts, total, labels
            )
        for name, (counts, total) in batches.items():
            lines += _header(f"modelpack_{name}")
            lines += _histogram(f"modelpack_{name}", SIZE_BUCKETS, counts, total, "")
        for metric, values in (
            ("modelpack_model_memory_bytes", memory),
            ("modelpack_model_workers", workers),
        ):
            lines += _header(metric)
            for (name, version), value in sorted(values.items()):
                lines.append(f'{metric}{{model="{name}",version="{version}"}} {value}')
        if failures:
            lines += _header("modelpack_model_load_failures_total")
            for name, n in sorted(failures.items()):
                lines.append(f'modelpack_model_load_failures_total{{model="{name}"}} {n}')
        return "\n".join(lines) + "\n"


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    """Replace ``path`` with ``doc`` in one step (readers see the old or the new file)."""
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)
    except OSError:  # the directory went away at shutdown
        pass


def _add(
    acc: tuple[list[int], float] | None, counts: list[int], total: float
) -> tuple[list[int], float]:
    if acc is None:
        return list(counts), total
    return [a + b for a, b in zip(acc[0], counts)], acc[1] + total


def _header(name: str) -> list[str]:
    kind, text = _HELP[name]
    return [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]


def _histogram(
    name: str, bounds: tuple[float, ...], counts: list[int], total: float, labels: str
) -> list[str]:
    sep = "," if labels else ""
    lines, running = [], 0
    for bound, n in zip((*bounds, "+Inf"), counts):
        running += n
        lines.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
    braces = f"{{{labels}}}" if labels else ""
    lines.append(f"{name}_sum{braces} {total}")
    lines.append(f"{name}_count{braces} {running}")
    return lines
