"""A small progress bar for downloads and archive writing (standard library only).

It draws on standard error only when that is a terminal, at most ten times a second, so logs
and captured output stay clean.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO

__all__ = ["Progress", "human_size"]


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns


class Progress:
    """``with Progress(total, "label") as bar: bar.advance(n)``; silent when not on a terminal."""

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        width: int = 28,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled if enabled is not None else _is_tty(self.stream)
        self.width = width
        self._last = 0.0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._draw(force=True)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, n: int) -> None:
        self.done += n
        self._draw()

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            text = (
                f"{self.label} [{bar}] {frac:4.0%} {human_size(self.done)}/{human_size(self.total)}"
            )
        else:
            text = f"{self.label} {human_size(self.done)}"
        self.stream.write("\r" + text[:120].ljust(80))
        self.stream.flush()


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
