"""Warnings that point at the caller's line, not at modelpack's internals."""

from __future__ import annotations

import sys
import warnings

from modelpack.exceptions import ModelpackWarning

__all__ = ["warn"]


def warn(message: str, category: type[Warning] = ModelpackWarning) -> None:
    """Issue ``message`` attributed to the first stack frame outside modelpack."""
    frame = sys._getframe(1)
    level = 2  # 1 would be this function itself
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("modelpack"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
