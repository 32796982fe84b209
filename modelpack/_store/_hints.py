"""Not-found messages that say what does exist, so the fix is in the message."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = ["did_you_mean", "listing"]


def did_you_mean(wanted: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(wanted, list(candidates), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def listing(items: Sequence[str], *, empty: str, limit: int = 20) -> str:
    """``a, b, c`` (``... and 7 more`` past the limit), or ``empty`` when there are none."""
    if not items:
        return empty
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return shown + (f" ... and {more} more" if more > 0 else "")
