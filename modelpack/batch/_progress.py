"""A one-line progress display for a terminal: rows done, rows/s, and an ETA when known."""

from __future__ import annotations

import shutil
import time
from typing import TextIO

__all__ = ["Progress"]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Redraws one line on ``stream`` at most every ``interval`` seconds.

    The fraction done comes from ``total_rows`` when the input says how many rows it holds
    (Parquet), or from the caller (bytes read of a file) otherwise.
    """

    def __init__(
        self, stream: TextIO, *, total_rows: int | None = None, interval: float = 0.2
    ) -> None:
        self._stream = stream
        self._total = total_rows
        self._interval = interval
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._rows = 0
        self._fraction: float | None = None
        self._drawn = False

    def set_total(self, total_rows: int | None) -> None:
        """Set the number of rows in the input, once it is known."""
        self._total = total_rows

    def update(self, rows: int, fraction: float | None = None) -> None:
        """Record ``rows`` done so far (and the fraction of the input read, if known)."""
        self._rows = rows
        self._fraction = fraction
        now = time.monotonic()
        if now - self._last_draw >= self._interval:
            self._last_draw = now
            self._draw(now)

    def message(self, text: str) -> None:
        """Print a line of text without garbling the progress line."""
        self._clear()
        self._stream.write(text + "\n")
        self._draw(time.monotonic())

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(time.monotonic())
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
        self._drawn = False

    def line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self._rows / elapsed
        parts = [f"{self._rows:,} rows", f"{rate:,.0f} rows/s"]
        fraction = self._fraction
        if self._total:
            fraction = min(self._rows / self._total, 1.0)
            parts[0] = f"{self._rows:,}/{self._total:,} rows"
        if fraction is not None and fraction > 0:
            width = 20
            filled = int(fraction * width)
            parts.insert(0, f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}")
            parts.append(f"ETA {_clock(elapsed * (1 - fraction) / fraction)}")
        parts.append(f"elapsed {_clock(elapsed)}")
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns
        self._stream.write("\r" + self.line(now)[: columns - 1] + "\x1b[K")
        self._stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
