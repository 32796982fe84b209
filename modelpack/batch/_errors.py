"""Errors and records specific to batch scoring."""

from __future__ import annotations

from dataclasses import dataclass

from modelpack.exceptions import ModelpackError, SchemaError

__all__ = ["BadRow", "BadRowError", "BatchError"]


@dataclass(frozen=True)
class BadRow:
    """An input row that could not be read or scored.

    ``row`` is the 1-based index of the row in the input (data rows for CSV, the header not
    counted; lines for JSON Lines), or 0 when the reader could not tell.
    """

    row: int
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "a row"
        return f"{where}: {self.message}"


class BatchError(ModelpackError, RuntimeError):
    """Batch scoring cannot go on: unreadable input, unwritable output, or a failing model."""


class BadRowError(SchemaError):
    """A row could not be scored and the error policy is ``fail``; ``.row`` is its number."""

    def __init__(self, bad: BadRow) -> None:
        super().__init__(
            f"{bad}. Fix the row, or pass on_error='skip' (--on-error skip) to score the rest"
        )
        self.row = bad.row
        self.bad = bad
