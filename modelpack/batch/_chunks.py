"""Chunks of rows, the reader interface, and the DataFrame handed to ``predict``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from modelpack.batch._errors import BadRow

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Chunk", "Reader", "rechunk", "to_frame"]


@dataclass
class Chunk:
    """Up to ``batch_size`` decoded rows, their input row numbers, and undecodable rows."""

    table: pa.Table
    rows: np.ndarray
    bad: list[BadRow] = field(default_factory=list)


def rechunk(tables: Iterable[pa.Table | pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    """Re-slice a stream of tables into tables of exactly ``size`` rows (the last one fewer)."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    for part in tables:
        if part.num_rows == 0:
            continue
        pending.extend(part.to_batches() if isinstance(part, pa.Table) else [part])
        count += part.num_rows
        while count >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def to_frame(table: pa.Table) -> Any:
    """A chunk as the pandas DataFrame handed to ``predict``.

    Text columns become object columns of Python ``str`` (None for nulls): models that walk
    rows (dict records, DictVectorizer, custom code) read those several times faster than
    pandas' Arrow-backed string columns, and every pandas-consuming model accepts them.
    """
    import pandas as pd
    import pyarrow as pa

    frame = table.to_pandas()
    for i, column in enumerate(table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = column.to_numpy(zero_copy_only=False)
            frame.isetitem(i, pd.Series(values, dtype=object, index=frame.index))
    return frame


class Reader:
    """Base of the readers: iterate for chunks; ``total_rows``/``fraction`` feed progress."""

    total_rows: int | None = None

    def __iter__(self) -> Iterator[Chunk]:
        raise NotImplementedError

    def fraction(self) -> float | None:
        """How much of the input has been read (0..1), when that can be told."""
        return None

    def close(self) -> None:
        """Release the input."""
