"""Streaming writers for CSV, Parquet and JSON Lines, and all-or-nothing output files.

:func:`atomic_output` writes to a temporary file beside the target and renames it into place
only when everything succeeded, so a failure, Ctrl-C or SIGTERM never leaves a partial output
behind (only SIGKILL can, as a hidden ``.NAME.*.partial`` file).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from modelpack.batch._errors import BatchError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TableSink", "atomic_output"]

_ROW_GROUP = 128_000  # Parquet row group size: large enough for good compression and scans


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary stream for ``path`` that only appears there if the block succeeds.

    ``-`` means standard output, which is written as rows are scored.
    """
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = _regular_target(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as e:
        raise BatchError(
            f"cannot write {path}: cannot create a file in {target.parent} "
            f"({e.strerror or e}); choose an output in a directory you can write to"
        ) from e
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        _regular_target(str(target))  # again: something may have appeared there meanwhile
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _regular_target(path: str) -> Path:
    """Where ``path``'s file is written (a link is followed); refuses anything not a file.

    The output is renamed into place, so a FIFO, device or socket there would be replaced by
    a regular file: it is refused instead, and standard output serves those.
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise BatchError(f"cannot write {path}: {e.strerror or e}") from e
    if mode is not None and stat.S_ISDIR(mode):
        raise BatchError(f"the output {path} is a directory; name a file")
    if mode is not None and not stat.S_ISREG(mode):
        raise BatchError(
            f"refusing to write {path}: it is {_kind(mode)}, not a regular file, and the "
            "output is written as a new file renamed into place. To write into it, use "
            f"standard output (-o -, output='-') and redirect it: ... -o - > {path}"
        )
    if not target.parent.is_dir():
        raise BatchError(f"cannot write {path}: the directory {target.parent} does not exist")
    return target


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class TableSink:
    """Writes Arrow tables as one output file; the first table fixes the columns and types."""

    def __init__(self, stream: BinaryIO, fmt: str) -> None:
        self._stream = stream
        self._fmt = fmt
        self._schema: pa.Schema | None = None
        self._writer: Any = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, table: pa.Table) -> None:
        if self._schema is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        else:
            table = _conform(table, self._schema)
        if self._fmt == "parquet":
            self._pending.append(table)
            self._pending_rows += table.num_rows
            if self._pending_rows >= _ROW_GROUP:
                self._flush()
        elif self._fmt == "csv":
            self._write_csv(table)
        else:
            self._write_jsonl(table)

    def close(self) -> None:
        """Finish the file (Parquet writes its footer here)."""
        if self._fmt == "parquet" and self._writer is not None:
            self._flush()
            self._writer.close()
        elif self._writer is not None:
            self._writer.close()
        self._stream.flush()

    def _open(self, schema: pa.Schema) -> Any:
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        if self._fmt == "parquet":
            return pq.ParquetWriter(self._stream, schema)
        if self._fmt == "csv":
            return pcsv.CSVWriter(self._stream, schema)
        return None

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=_ROW_GROUP)
            self._pending, self._pending_rows = [], 0

    def _write_csv(self, table: pa.Table) -> None:
        import pyarrow as pa

        try:
            self._writer.write_table(table)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise BatchError(
                f"CSV cannot hold these columns ({e}); write Parquet or JSON Lines instead"
            ) from e

    def _write_jsonl(self, table: pa.Table) -> None:
        if table.num_rows:
            self._stream.write(jsonl_bytes(table))


def _json_values(column: pa.ChunkedArray) -> pa.Array:
    """Each value of ``column`` as JSON text (null, NaN and infinities as ``null``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        # Arrow prints the shortest text that reads back as the same number
        text = pc.cast(column, pa.string())
        if pa.types.is_floating(kind):
            finite = pc.is_finite(column)
            text = pc.if_else(finite, text, pa.scalar(None, pa.string()))
        return pc.fill_null(text, "null")
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(column, "true", "false"), "null")
    values = [json.dumps(v, ensure_ascii=False, default=str) for v in column.to_pylist()]
    return pa.array(values, pa.string())


def jsonl_bytes(table: pa.Table) -> bytes:
    """``table`` as JSON Lines: one object per row, keys in column order."""
    import pyarrow.compute as pc

    parts: list[Any] = []
    for i, name in enumerate(table.column_names):
        parts.append(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":")
        parts.append(_json_values(table.column(name)))
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    return "".join(lines.to_pylist()).encode("utf-8")


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns and types (absent columns become nulls)."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, f.type))
            continue
        column = table.column(f.name)
        try:
            columns.append(column.cast(f.type) if column.type != f.type else column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise BatchError(
                f"column {f.name!r} holds {column.type} values here but held {f.type} earlier "
                "in the output; an output file keeps one type per column"
            ) from e
    return pa.Table.from_arrays(columns, schema=schema)
