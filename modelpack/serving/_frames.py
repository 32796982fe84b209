"""Reading CSV and Parquet request bodies into a DataFrame, within the request limits.

Both formats can decode to far more than their size: Parquet compresses a column of one
repeated value to almost nothing, and its dictionary encoding stores a long string once for
any number of rows. So the size is checked before the frame is built: a Parquet body by its
footer (rows, values and uncompressed bytes of every column chunk) and by the decoded length of
its text columns, read dictionary-encoded first; a CSV body by a row cap handed to the reader.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from modelpack._optional import require
from modelpack.exceptions import MissingDependencyError
from modelpack.serving._errors import HTTPError, bad_request
from modelpack.serving._limits import DEFAULT_MAX_CELLS, check_cells, too_many_cells
from modelpack.serving._payload import Inputs

if TYPE_CHECKING:
    from modelpack._signature import Schema

__all__ = ["parse_csv", "parse_parquet"]

_MIB = 1024 * 1024
#: column chunks (row groups x columns) a Parquet body may have; real requests have a few
_MAX_CHUNKS = 100_000


@contextmanager
def _refused_without_library(what: str) -> Iterator[None]:
    """Answer 415, naming the extra, when a library that reads ``what`` bodies is missing.

    pandas and pyarrow ship with the ``serve`` extra; a server installed without them still
    answers JSON.
    """
    try:
        yield
    except MissingDependencyError as e:
        message = f"this server cannot read {what}: {e}"
        raise HTTPError(415, "UNSUPPORTED_MEDIA_TYPE", message) from None


# ------------------------------------------------------------------------------------ CSV
def parse_csv(body: bytes, schema: Schema | None, *, max_cells: int = DEFAULT_MAX_CELLS) -> Inputs:
    """Parse a ``text/csv`` body (a header row, then one row per line)."""
    with _refused_without_library("CSV"):
        pd = require("pandas", "serve", purpose="reading CSV request bodies")

    # String columns are read as text, so "007" stays "007" rather than becoming 7.
    dtype = {c.name: str for c in schema.columns() if c.type == "string"} if schema else {}
    what = "the CSV body"
    nrows = None
    # Every cell takes at least one byte (its separator), so only a longer body can pass the
    # limit; the reader then stops one row past what the header's width allows.
    if len(body) > max_cells:
        end = body.find(b"\n")
        width = body.count(b",", 0, end if end >= 0 else len(body)) + 1
        if width > max_cells:
            raise too_many_cells(f"{what}'s header names {width:,} columns", max_cells)
        nrows = max_cells // width + 1
    frame = _read_csv(pd, body, dtype, nrows)
    if nrows is not None and len(frame) >= nrows:
        width = max(len(frame.columns), 1)
        if max_cells // width + 1 > nrows:  # quoted commas made the header look wider
            nrows = max_cells // width + 1
            frame = _read_csv(pd, body, dtype, nrows)
        if len(frame) >= nrows:
            found = f"{what} holds more than {nrows - 1:,} rows of {width:,} columns"
            raise too_many_cells(found, max_cells)
    if not len(frame):
        raise bad_request("the CSV body holds no rows")
    check_cells(len(frame), len(frame.columns), max_cells, what)
    return Inputs(frame, len(frame), None)


def _read_csv(pd: Any, body: bytes, dtype: dict[Any, Any], nrows: int | None) -> Any:
    try:
        return pd.read_csv(io.BytesIO(body), dtype=dtype or None, nrows=nrows)
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, pd.errors.ParserError) as e:
        text = str(e).strip().splitlines()
        detail = text[0][:300] if text else type(e).__name__
        raise HTTPError(
            400, "MALFORMED_REQUEST", f"cannot read the body as CSV: {detail}"
        ) from None


# -------------------------------------------------------------------------------- Parquet
def parse_parquet(
    body: bytes,
    schema: Schema | None = None,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_bytes: int = 64 * _MIB,
) -> Inputs:
    """Parse an ``application/vnd.apache.parquet`` body.

    ``max_bytes`` bounds the column data it decodes to (the server passes its body limit).
    """
    with _refused_without_library("Parquet"):
        pd = require("pandas", "serve", purpose="reading Parquet request bodies")
        pa = require("pyarrow", "serve", purpose="reading Parquet request bodies")
        pq = require("pyarrow.parquet", "serve", purpose="reading Parquet request bodies")

    try:
        file = pq.ParquetFile(pa.BufferReader(body))
        _check_footer(file.metadata, max_cells, max_bytes)
        _check_text(pa, pq, body, file.schema_arrow, max_bytes)
        frame = pd.read_parquet(io.BytesIO(body))
    except HTTPError:
        raise
    except Exception as e:  # pyarrow raises its own error types
        text = str(e).strip().splitlines()
        detail = text[0][:300] if text else type(e).__name__
        raise HTTPError(
            400, "MALFORMED_REQUEST", f"cannot read the body as Parquet: {detail}"
        ) from None
    return Inputs(frame, len(frame), None)


def _too_big(size: int, limit: int) -> HTTPError:
    return HTTPError(
        413,
        "REQUEST_TOO_LARGE",
        f"the Parquet body decodes to {size:,} bytes of column data, more than the limit of "
        f"{limit / _MIB:g} MiB (the body limit); send fewer rows per request or raise the "
        "limit (--max-body-mb)",
    )


def _check_footer(meta: Any, max_cells: int, max_bytes: int) -> None:
    """Refuse by what the footer declares: rows, values and uncompressed bytes."""
    what = "the Parquet body"
    columns, groups = meta.num_columns, meta.num_row_groups
    check_cells(meta.num_rows, columns, max_cells, what)
    if groups * max(columns, 1) > min(max_cells, _MAX_CHUNKS):
        raise HTTPError(
            413,
            "REQUEST_TOO_LARGE",
            f"{what} has {groups:,} row groups of {columns:,} columns; write it as one row "
            "group (a request body never needs more)",
        )
    rows = values = size = 0
    for g in range(groups):
        group = meta.row_group(g)
        rows += group.num_rows
        for c in range(group.num_columns):
            chunk = group.column(c)
            values += max(chunk.num_values, 0)
            size += max(chunk.total_uncompressed_size, 0)
    check_cells(rows, columns, max_cells, what)
    if values > max_cells:
        raise too_many_cells(f"{what} holds {values:,} values in its columns", max_cells)
    if size > max_bytes:
        raise _too_big(size, max_bytes)


def _check_text(pa: Any, pq: Any, body: bytes, schema: Any, max_bytes: int) -> None:
    """Refuse text columns that decode past ``max_bytes``.

    A dictionary-encoded column holds each distinct string once, so its stored size says
    nothing of the decoded one: read those columns still encoded and add up the length of
    the value each row points to.
    """
    types = pa.types
    names = [
        field.name
        for field in schema
        if types.is_string(field.type)
        or types.is_large_string(field.type)
        or types.is_binary(field.type)
        or types.is_large_binary(field.type)
    ]
    if not names:
        return
    import pyarrow.compute as pc

    table = pq.ParquetFile(pa.BufferReader(body), read_dictionary=names).read(columns=names)
    size = 0
    for column in table.columns:
        for chunk in column.chunks:
            if not types.is_dictionary(chunk.type):
                size += chunk.nbytes
            elif len(chunk) > chunk.null_count:
                lengths = pc.binary_length(chunk.dictionary)
                size += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
            if size > max_bytes:
                raise _too_big(size, max_bytes)
