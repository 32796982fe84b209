"""Streaming readers for CSV, Parquet and JSON Lines.

Each reader yields :class:`Chunk` objects of at most ``batch_size`` rows, each holding an
Arrow table, the 1-based input row number of every row in it, and the rows that could not be
decoded at all (a CSV line with the wrong number of fields, a line that is not JSON). Memory
stays flat: only one input block and one chunk are held at a time.

Text formats carry no types, so readers are told the Arrow type of each signature column
(:func:`arrow_types`) and decode just those columns to it; checking and converting the values
for the model stays with the model's own signature handling in ``predict``.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from modelpack.batch._chunks import Chunk, Reader, rechunk
from modelpack.batch._errors import BadRow, BatchError

if TYPE_CHECKING:
    import pyarrow as pa

    from modelpack._signature import Schema

__all__ = ["FORMATS", "arrow_types", "format_for", "open_reader"]

FORMATS = ("csv", "parquet", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# How long closing a CSV reader waits for Arrow's thread to release it (it takes microseconds;
# only a read blocked on a pipe that stays open could take longer).
_RELEASE_WAIT = 5.0
# Bytes per CSV block. Columns outside the signature take their type from the first block.
# Larger blocks raise the reader's resident memory (about 3x more with 4 MiB) for no speed gain.
_CSV_BLOCK = 1 << 20


def format_for(path: str, forced: str | None, *, fallback: str | None = None) -> str:
    """The format of ``path``: ``forced`` if given, else its extension, else ``fallback``."""
    if forced is not None:
        if forced not in FORMATS:
            raise BatchError(f"unknown format {forced!r}; choose one of {', '.join(FORMATS)}")
        return forced
    found = _EXTENSIONS.get(Path(path).suffix.lower()) if path != "-" else None
    if found is not None:
        return found
    if fallback is not None:
        return fallback
    what = "standard input" if path == "-" else f"{path!r}"
    raise BatchError(
        f"cannot tell the format of {what} from its name; name it *.csv, *.parquet or *.jsonl, "
        "or pass --format csv|parquet|jsonl"
    )


def arrow_types(schema: Schema | None) -> dict[str, pa.DataType]:
    """The Arrow type each named signature column is decoded to when read from text."""
    import pyarrow as pa

    if schema is None or schema.is_tensor or not schema.has_names:
        return {}
    by_name = {
        "boolean": pa.bool_(),
        "integer": pa.int32(),
        "long": pa.int64(),
        "float": pa.float32(),
        "double": pa.float64(),
        "string": pa.string(),
        "binary": pa.binary(),
        "datetime": pa.timestamp("ns"),
    }
    return {str(s.name): by_name[s.type] for s in schema.columns()}


class _ParquetReader(Reader):
    def __init__(self, path: str, *, batch_size: int, columns: Sequence[str] | None) -> None:
        import pyarrow.parquet as pq

        if path == "-":
            raise BatchError(
                "Parquet cannot be read from a pipe: its index sits at the end of the file. "
                "Write the data to a file and pass its path with -i"
            )
        try:
            self._file = pq.ParquetFile(path)
        except (OSError, ValueError) as e:
            raise BatchError(f"cannot read {path} as Parquet: {e}") from e
        names = self._file.schema_arrow.names
        self._columns = None if columns is None else [c for c in columns if c in names]
        self._batch_size = batch_size
        self.total_rows = self._file.metadata.num_rows

    def _batches(self) -> Iterator[pa.RecordBatch]:
        # One row group at a time: a single iter_batches over the whole file reads ahead
        # and its buffers grow as the file goes on; per row group they stay a few MB.
        for group in range(self._file.metadata.num_row_groups):
            yield from self._file.iter_batches(
                batch_size=self._batch_size, row_groups=[group], columns=self._columns
            )

    def __iter__(self) -> Iterator[Chunk]:
        batches = self._batches()
        start = 1
        for table in rechunk(batches, self._batch_size):
            yield Chunk(table, np.arange(start, start + table.num_rows))
            start += table.num_rows

    def close(self) -> None:
        self._file.close()


def _open_binary(path: str) -> tuple[BinaryIO, int | None]:
    """The input as a binary stream, and its size in bytes when it is a regular file."""
    if path == "-":
        return sys.stdin.buffer, None
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the reader's close()
    except OSError as e:
        raise BatchError(f"cannot open the input {path}: {e.strerror or e}") from e
    return stream, os.fstat(stream.fileno()).st_size or None


def _open_native(path: str) -> tuple[Any, int | None]:
    """The input as an Arrow file, and its size in bytes when it is a regular file.

    Arrow's CSV reader reads ahead on a thread of its own. Given a Python file object, that
    thread takes the GIL for every read and drops the last reference to the file; if that
    happens while the interpreter shuts down (an error or an empty input ends the run while
    the thread still runs), the thread is ended inside C++ code and the process aborts
    (SIGABRT, "terminate called without an active exception"). An Arrow file never touches
    the interpreter from that thread.
    """
    import pyarrow as pa

    if path == "-":
        return _native_stdin(), None
    try:
        stream = pa.OSFile(path, "r")
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise BatchError(f"cannot open the input {path}: {reason}") from e
    return stream, stream.size() or None


def _native_stdin() -> Any:
    import pyarrow as pa

    try:
        stream = pa.OSFile("/dev/stdin", "r")  # the same pipe, terminal or file, reopened
    except OSError:  # no /dev/stdin (Windows), or a socket: read through Python
        return pa.PythonFile(sys.stdin.buffer, mode="r")
    try:
        mode = os.fstat(0).st_mode
        if stat.S_ISREG(mode):  # a reopened file starts at 0: go on where stdin stands
            stream.seek(os.lseek(0, 0, os.SEEK_CUR))
    except OSError:
        pass
    return stream


class _TextReader(Reader):
    """Shared by CSV and JSON Lines: a byte stream, its size, and column decoding."""

    def __init__(
        self,
        path: str,
        *,
        batch_size: int,
        types: dict[str, pa.DataType],
        native: bool = False,
    ) -> None:
        self._stream: Any
        self._size: int | None
        self._stream, self._size = _open_native(path) if native else _open_binary(path)
        self._path = path
        self._batch_size = batch_size
        self._types = types

    def fraction(self) -> float | None:
        if not self._size:
            return None
        try:
            return min(self._stream.tell() / self._size, 1.0)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()


class _CsvReader(_TextReader):
    def __init__(self, path: str, *, batch_size: int, types: dict[str, pa.DataType]) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        super().__init__(path, batch_size=batch_size, types=types, native=True)
        self._invalid: list[BadRow] = []
        self._reader: Any = None
        self._nulls = pa.array(pcsv.ConvertOptions().null_values, pa.string())
        self._released = threading.Event()
        handler = _InvalidRows(self._invalid)
        weakref.finalize(handler, self._released.set)
        try:
            # Signature columns are read as text and decoded per chunk (see _decode), so one
            # bad value costs one row, not the whole file.
            self._reader = pcsv.open_csv(
                self._stream,
                read_options=pcsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
                parse_options=pcsv.ParseOptions(invalid_row_handler=handler),
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.string() for name in types}
                ),
            )
        except (pa.ArrowInvalid, OSError) as e:
            self.close()
            raise BatchError(f"cannot read {_name(path)} as CSV: {e}") from e

    def close(self) -> None:
        """Let Arrow's reader go, and wait until it has let go of the Python row handler.

        The reader's read-ahead thread may hold the last reference to the reader, and so
        release the handler (taking the GIL) after the run ended; if the interpreter is shut
        down by then, the process aborts (see _open_native). Waiting here, while the
        interpreter is alive, takes no time in practice. Only references are dropped: closing
        the file under that thread could hand its descriptor to another file; the last holder
        closes it.
        """
        started = self._reader is not None
        self._reader = None
        self._stream = None
        if started:
            self._released.wait(_RELEASE_WAIT)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        while True:
            try:
                yield self._reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as e:
                raise BatchError(
                    f"cannot read {_name(self._path)} as CSV: {e}. Columns outside the model's "
                    "signature take their type from the first rows of the file"
                ) from e

    def __iter__(self) -> Iterator[Chunk]:
        done = 0  # the last input row number handed out
        for table in rechunk(self._batches(), self._batch_size):
            rows, done = _row_numbers(table.num_rows, done, self._invalid)
            last = int(rows[-1])
            bad = [b for b in self._invalid if b.row <= last]
            self._invalid[:] = [b for b in self._invalid if b.row > last]  # the handler's list
            table, rows, undecoded = _decode(table, rows, self._types, self._nulls)
            yield Chunk(table, rows, bad + undecoded)
        if self._invalid:
            import pyarrow as pa

            empty = pa.table({n: pa.array([], pa.string()) for n in self._reader.schema.names})
            yield Chunk(empty, np.empty(0, np.int64), list(self._invalid))


class _InvalidRows:
    """Arrow's ``invalid_row_handler``: notes each CSV row with the wrong number of fields.

    An object of its own (not a bound method of the reader), so that the reader can tell
    when Arrow has released it.
    """

    def __init__(self, found: list[BadRow]) -> None:
        self._found = found

    def __call__(self, row: Any) -> str:
        # ``number`` is the physical line (the header is line 1); it is known because the
        # reader runs single-threaded.
        number = row.number - 1 if row.number is not None else 0
        self._found.append(
            BadRow(number, f"expected {row.expected_columns} fields, found {row.actual_columns}")
        )
        return "skip"


def _row_numbers(n: int, done: int, invalid: list[BadRow]) -> tuple[np.ndarray, int]:
    """Input row numbers of the next ``n`` decoded rows, given the skipped invalid rows.

    ``done`` is the last input row number handed out so far. Skipped rows past it are gaps.
    """
    gaps = np.array(sorted(b.row for b in invalid if b.row > done), dtype=np.int64)
    valid = np.arange(1, n + 1, dtype=np.int64)
    # the k-th valid row after ``done`` sits at done + k + (gaps at or before that position)
    shifted = gaps - done - np.arange(len(gaps))
    rows = done + valid + np.searchsorted(shifted, valid, side="right")
    return rows, int(rows[-1]) if n else done


def _decode(
    table: pa.Table, rows: np.ndarray, types: dict[str, pa.DataType], nulls: pa.Array
) -> tuple[pa.Table, np.ndarray, list[BadRow]]:
    """Convert text columns to their signature types; rows that do not convert are bad."""
    import pyarrow as pa
    import pyarrow.compute as pc

    good = np.ones(table.num_rows, dtype=bool)
    bad: list[BadRow] = []
    columns = {}
    for name, target in types.items():
        if name not in table.column_names or pa.types.is_string(target):
            continue
        text = table.column(name)
        text = pc.if_else(pc.is_in(text, value_set=nulls), pa.scalar(None, pa.string()), text)
        try:
            columns[name] = pc.cast(text, target)
            continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        values = text.to_pylist()
        converted: list[Any] = []
        for i, value in enumerate(values):
            try:
                converted.append(pc.cast(pa.scalar(value, pa.string()), target).as_py())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                converted.append(None)
                if good[i]:
                    good[i] = False
                    bad.append(
                        BadRow(int(rows[i]), f"column {name!r}: {value!r} is not a {target}")
                    )
        columns[name] = pa.array(converted, target)
    for name, values in columns.items():
        table = table.set_column(table.column_names.index(name), name, values)
    if bad:
        table, rows = table.filter(pa.array(good)), rows[good]
        bad.sort(key=lambda b: b.row)
    return table, rows, bad


class _JsonlReader(_TextReader):
    def __init__(
        self,
        path: str,
        *,
        batch_size: int,
        types: dict[str, pa.DataType],
        columns: Sequence[str] | None,
    ) -> None:
        import pyarrow as pa
        import pyarrow.json as pj

        super().__init__(path, batch_size=batch_size, types=types)
        only_signature = columns is not None and set(columns) <= set(types)
        self._options = pj.ParseOptions(
            explicit_schema=pa.schema(list(types.items())),
            unexpected_field_behavior="ignore" if only_signature else "infer",
        )
        self._columns = columns

    def __iter__(self) -> Iterator[Chunk]:
        lines: list[bytes] = []
        numbers: list[int] = []
        for number, line in enumerate(self._stream, start=1):
            if line.isspace():
                continue
            lines.append(line if line.endswith(b"\n") else line + b"\n")
            numbers.append(number)
            if len(lines) == self._batch_size:
                yield self._parse(lines, numbers)
                lines, numbers = [], []
        if lines:
            yield self._parse(lines, numbers)

    def _read(self, data: bytes) -> pa.Table:
        import pyarrow as pa
        import pyarrow.json as pj

        options = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16))
        # A copy in memory Arrow owns, not a BytesIO nor a view of ``data``: the reader's
        # read-ahead thread may release its input after read_json returned, and releasing a
        # Python object takes the GIL (see _open_native). The copy costs a memcpy per chunk.
        sink = pa.BufferOutputStream()
        sink.write(data)
        table = pj.read_json(
            pa.BufferReader(sink.getvalue()), read_options=options, parse_options=self._options
        )
        if self._columns is not None:
            table = table.select([c for c in self._columns if c in table.column_names])
        return table

    def _parse(self, lines: list[bytes], numbers: list[int]) -> Chunk:
        import pyarrow as pa

        try:
            table = self._read(b"".join(lines))
            if table.num_rows == len(lines):
                return Chunk(table, np.array(numbers, dtype=np.int64))
        except pa.ArrowInvalid:
            pass
        # Some line is not one JSON object, or holds a value of the wrong type: read line by
        # line to find which.
        tables, rows, bad = [], [], []
        for line, number in zip(lines, numbers):
            try:
                table = self._read(line)
            except pa.ArrowInvalid as e:
                bad.append(BadRow(number, _json_problem(str(e))))
                continue
            if table.num_rows != 1:
                bad.append(BadRow(number, "expected one JSON object on the line"))
                continue
            tables.append(table)
            rows.append(number)
        if not tables:
            names = list(self._types) if self._columns is None else list(self._columns)
            table = pa.table({n: pa.array([], self._types.get(n, pa.null())) for n in names})
        else:
            table = pa.concat_tables(tables, promote_options="permissive")
        return Chunk(table, np.array(rows, dtype=np.int64), bad)


def _json_problem(message: str) -> str:
    message = message.removeprefix("JSON parse error: ").split(" in row ")[0]
    changed = re.fullmatch(r"Column\(/(.+)\) changed from (\w+) to (\w+)", message)
    if changed:
        name, expected, found = changed.groups()
        return f"column {name!r} holds a {found} where a {expected} is expected"
    return f"not a valid JSON object: {message}"


def _name(path: str) -> str:
    return "standard input" if path == "-" else path


def open_reader(
    path: str,
    fmt: str,
    *,
    batch_size: int,
    types: dict[str, pa.DataType],
    columns: Sequence[str] | None,
) -> Reader:
    """Open ``path`` (``-`` for standard input) for reading chunks of ``batch_size`` rows.

    ``types`` gives the Arrow type of each signature column for the text formats; ``columns``
    names the columns needed (None for all).
    """
    if batch_size < 1:
        raise BatchError(f"batch size must be at least 1, got {batch_size}")
    if fmt == "parquet":
        return _ParquetReader(path, batch_size=batch_size, columns=columns)
    if fmt == "csv":
        return _CsvReader(path, batch_size=batch_size, types=types)
    return _JsonlReader(path, batch_size=batch_size, types=types, columns=columns)
