"""One progress line on a terminal: downloads, archive writing and batch scoring (stdlib only).

The line shows what is done (bytes or rows), the fraction and an ETA when the total or the
fraction read is known, and the rate. It is drawn only when the stream is a terminal (unless
told otherwise), at most every ``interval`` seconds, so logs and captured output stay clean.
"""

from __future__ import annotations

import shutil
import sys
import time
from types import TracebackType
from typing import IO

__all__ = ["Progress", "human_size"]

_BAR_WIDTH = 20


def human_size(n: float) -> str:
    """``512 B``, ``2.0 KB``, ``3.4 MB``, ``1.2 GB`` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress line: ``with Progress(total, "label") as bar: bar.advance(n)``.

    Parameters
    ----------
    total : int or None
        How many units the whole job holds, when known (bytes of a file, rows of a Parquet
        file); :meth:`set_total` can give it later.
    label : str
        Written before the bar (a file name, "writing x.tar.gz"); may be empty.
    unit : str
        ``"B"`` counts bytes (shown as KB, MB, ...); any other word is shown after a count
        (``"rows"``: ``1,000 rows``, ``250 rows/s``).
    stream : text stream, optional
        Where to draw (default: standard error).
    enabled : bool, optional
        Draw at all; by default only when ``stream`` is a terminal.
    interval : float
        Least time between two redraws, in seconds.
    """

    def __init__(
        self,
        total: int | None = None,
        label: str = "",
        *,
        unit: str = "B",
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        interval: float = 0.1,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled if enabled is not None else _is_tty(self.stream)
        self.interval = interval
        self._fraction: float | None = None
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def __enter__(self) -> Progress:
        self._draw(time.monotonic())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ recording
    def set_total(self, total: int | None) -> None:
        """Set the total, once it is known."""
        self.total = total

    def advance(self, n: int) -> None:
        """Record ``n`` more units done."""
        self.done += n
        self._maybe_draw()

    def update(self, done: int, fraction: float | None = None) -> None:
        """Record ``done`` units so far, and the fraction of the input read when it is known
        some other way than from the total (bytes read of a file being scored by rows)."""
        self.done = done
        self._fraction = fraction
        self._maybe_draw()

    def message(self, text: str) -> None:
        """Write a line of text without garbling the progress line."""
        self._clear()
        self.stream.write(text + "\n")
        self._draw(time.monotonic())

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(time.monotonic())
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False

    # ------------------------------------------------------------------ drawing
    def line(self, now: float) -> str:
        """The text of the progress line at time ``now`` (a ``time.monotonic()`` value)."""
        elapsed = max(now - self._start, 1e-9)
        fraction = self._fraction
        amount = self._amount(self.done)
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            amount = f"{self._count(self.done)}/{self._amount(self.total)}"
        parts = []
        if fraction is not None:  # a bar, even an empty one, once the size is known
            filled = int(fraction * _BAR_WIDTH)
            parts.append(f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {fraction:4.0%} {amount}")
        else:
            parts.append(amount)
        parts.append(f"{self._amount(self.done / elapsed)}/s")
        if fraction:
            parts.append(f"ETA {_clock(elapsed * (1 - fraction) / fraction)}")
        parts.append(f"elapsed {_clock(elapsed)}")
        if self.label:
            parts[0] = f"{self.label} {parts[0]}"
        return "  ".join(parts)

    def _count(self, n: float) -> str:
        return human_size(n) if self.unit == "B" else f"{n:,.0f}"

    def _amount(self, n: float) -> str:
        return human_size(n) if self.unit == "B" else f"{n:,.0f} {self.unit}"

    def _maybe_draw(self) -> None:
        now = time.monotonic()
        if now - self._last_draw >= self.interval:
            self._draw(now)

    def _draw(self, now: float) -> None:
        if not self.enabled:
            return
        self._last_draw = now
        columns = shutil.get_terminal_size((100, 20)).columns
        self.stream.write("\r" + self.line(now)[: columns - 1] + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
