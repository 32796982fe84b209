"""What one request may cost the server: decoded cells, header bytes, time to arrive.

The body size limit (``max_body_bytes``) bounds what is read; the cell limit bounds what a body
decodes to, which can be far more: 653 KB of Parquet can hold 50 million rows, and 60 MB of
JSON twenty million empty records. Every parser checks the cell count *before* it builds the
big structures where the format allows (the Parquet footer, a count of JSON separators, a row
cap for the CSV reader), and exactly afterwards.

A cell is one value of one row; a row with no columns still counts as one cell, so a list of
empty records is bounded too. The header and timeout settings are applied by the HTTP protocol
in ``_http``.

Each setting can be given to :func:`modelpack.serving.serve` / ``create_app`` or, when it is
not, read from an environment variable (``MODELPACK_SERVE_MAX_CELLS`` and so on), so a
deployment can set it without a new flag.
"""

from __future__ import annotations

import os
import re

from modelpack.serving._errors import HTTPError

__all__ = [
    "DEFAULT_KEEP_ALIVE_TIMEOUT",
    "DEFAULT_MAX_CELLS",
    "DEFAULT_MAX_HEADER_KB",
    "DEFAULT_REQUEST_TIMEOUT",
    "ENV",
    "check_cells",
    "check_json_values",
    "setting",
    "too_many_cells",
]

DEFAULT_MAX_CELLS = 1_000_000
DEFAULT_MAX_HEADER_KB = 64.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
DEFAULT_REQUEST_TIMEOUT = 30.0

#: setting name -> the environment variable read when the setting is not given
ENV = {
    "max_cells": "MODELPACK_SERVE_MAX_CELLS",
    "max_header_kb": "MODELPACK_SERVE_MAX_HEADER_KB",
    "keep_alive_timeout": "MODELPACK_SERVE_KEEP_ALIVE_TIMEOUT",
    "request_timeout": "MODELPACK_SERVE_REQUEST_TIMEOUT",
}
_FLAGS = {
    "max_cells": "--max-cells",
    "max_header_kb": "--max-header-kb",
    "keep_alive_timeout": "--keep-alive-timeout",
    "request_timeout": "--request-timeout",
}


def setting(name: str, value: float | None, default: float) -> float:
    """``value``, else the setting's environment variable, else ``default``; must be > 0."""
    source = name
    if value is None:
        text = os.environ.get(ENV[name], "").strip()
        if not text:
            return default
        source = ENV[name]
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise ValueError(f"{source} must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{source} must be a positive number, got {value!r}")
    return value


def too_many_cells(found: str, limit: int) -> HTTPError:
    """413 for a request that holds ``found`` ("the body holds 2,000,000 cells")."""
    return HTTPError(
        413,
        "REQUEST_TOO_LARGE",
        f"{found}, more than the limit of {limit:,} cells per request; send fewer rows per "
        f"request or raise the limit ({_FLAGS['max_cells']} or {ENV['max_cells']})",
    )


def check_cells(rows: int, columns: int, limit: int, what: str) -> None:
    """Refuse with 413 when ``rows`` x ``columns`` (at least one per row) passes ``limit``."""
    cells = rows * max(columns, 1)
    if cells > limit:
        shape = f" ({rows:,} rows x {columns:,} columns)" if columns > 1 else ""
        raise too_many_cells(f"{what} holds {cells:,} cells{shape}", limit)


# A JSON string, escapes included; what is inside one is not structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def check_json_values(body: bytes, limit: int, what: str = "the body") -> None:
    """Refuse, before parsing, a JSON body that holds far more values than ``limit`` cells.

    Each value takes at least one byte and one separator, so a body shorter than ``limit``
    bytes passes at once (the usual case costs nothing). Longer bodies are bounded by their
    commas: a table of ``n`` cells has about ``n`` of them, plus one per column name. Only
    when the commas are many (half again the limit) are the ones inside strings discounted,
    so text full of commas is never refused for them.
    """
    if len(body) <= limit:
        return
    allowed = limit + limit // 2 + 1024
    if body.count(b",") <= allowed:
        return
    values = _STRING.sub(b"0", body).count(b",") + 1
    if values > allowed:
        raise too_many_cells(f"{what} holds {values:,} JSON values", limit)
