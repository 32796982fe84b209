"""A bounded HTTP/1.1 keep-alive load generator, for machines without ``wrk``.

``connections`` clients each send the same POST on one keep-alive connection, one request at
a time, for ``duration`` seconds, to an address on the loopback interface only. Being Python,
it costs more CPU per request than ``wrk``, so on a small machine it lowers every server's
figures; the ratios between servers measured with it stay meaningful.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

__all__ = ["LoadResult", "run_load"]


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _client(port: int, request: bytes, deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - start)
            result.requests += 1
            if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                result.errors += 1
    finally:
        writer.close()


def run_load(
    port: int, path: str, body: bytes, *, connections: int = 8, duration: float = 10.0
) -> LoadResult:
    """POST ``body`` to ``127.0.0.1:port`` from ``connections`` keep-alive clients."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    result = LoadResult(0, 0, duration, [])

    async def main() -> None:
        deadline = time.perf_counter() + duration
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(port, request, deadline, result) for _ in range(connections))
        )
        result.seconds = time.perf_counter() - started

    asyncio.run(main())
    return result
