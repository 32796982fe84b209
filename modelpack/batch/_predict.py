"""Streaming batch scoring of a file: read a chunk, predict, append, repeat.

Memory stays flat whatever the file size: one chunk of input and its predictions are held at
a time. Input goes through :meth:`PyFuncModel.predict` unchanged, so the model's own signature
handling checks and converts it. When a chunk fails with a data error (``ValueError``, which
includes :class:`~modelpack.exceptions.SchemaError`, ``TypeError``, ``OverflowError`` or
``RecursionError``), the chunk is split in halves until the failing rows are isolated; the rest
of the chunk is scored normally. A bad row's message names the columns it has no value in
(empty cells, ``NaN``) or an infinite value in.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelpack._predict_methods import PARAM, check_method
from modelpack.batch._chunks import Chunk, Reader, to_frame
from modelpack.batch._errors import BadRow, BadRowError, BatchError
from modelpack.batch._io import arrow_types, format_for, open_reader
from modelpack.batch._results import prediction_columns
from modelpack.batch._write import TableSink, atomic_output
from modelpack.exceptions import SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

    from modelpack._progress import Progress
    from modelpack.pyfunc import PyFuncModel

__all__ = [
    "BatchOptions",
    "PredictSummary",
    "method_params",
    "predict_file",
    "run",
    "score_frame",
]

ON_ERROR = ("fail", "skip")
# What a model raises for bad values in a row. OverflowError: an integer out of its type's
# range; RecursionError: a value that sends conversion code into endless recursion.
_DATA_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)
_KEEP_BAD = 100  # bad rows kept in the summary; the count is always exact


@dataclass(frozen=True)
class BatchOptions:
    """How to score a file (see :func:`predict_file` for each field)."""

    input_format: str | None = None
    output_format: str | None = None
    batch_size: int = 10_000
    keep_columns: Sequence[str] = ()
    on_error: str = "fail"
    prediction_column: str = "prediction"
    #: the model method to run (``predict_proba``, ...); None: the model's default
    predict_method: str | None = None


@dataclass
class PredictSummary:
    """What a batch scoring run did."""

    output: str
    rows_read: int = 0
    rows_scored: int = 0
    bad_row_count: int = 0
    #: the first bad rows (up to 100), in input order within each chunk
    bad_rows: list[BadRow] = field(default_factory=list)
    seconds: float = 0.0


def score_frame(model: PyFuncModel, frame: Any, params: dict[str, Any] | None = None) -> Any:
    """Predict one chunk; the single place batch scoring calls the model."""
    return model.predict(frame, params)


def method_params(model: PyFuncModel, method: str | None) -> dict[str, Any] | None:
    """The params that ask for ``method``, checked against the model's methods up front."""
    if method is None:
        return None
    check_method(method, model.predict_methods)
    return {PARAM: method}


@dataclass(frozen=True)
class _Plan:
    model_columns: list[str]
    keep: list[str]


def _plan(model: PyFuncModel, names: list[str], options: BatchOptions) -> _Plan:
    """Check the input's columns once, on the first chunk."""
    schema = model.input_schema
    if schema is not None and schema.has_names and not schema.is_tensor:
        present = set(names)
        missing = [s.name for s in schema.columns() if s.required and s.name not in present]
        if missing:
            raise SchemaError(
                f"the input has no column {', '.join(map(repr, missing))}, which the model "
                f"needs; it expects {', '.join(schema.names)} and the input has "
                f"{', '.join(names) or 'no columns'}",
                column=str(missing[0]),
            )
        model_columns = [n for n in schema.names if n in present]
    else:
        model_columns = list(names)
    keep = list(names) if list(options.keep_columns) == ["*"] else list(options.keep_columns)
    absent = [k for k in keep if k not in names]
    if absent:
        raise BatchError(
            f"cannot keep column(s) {', '.join(map(repr, absent))}: the input has "
            f"{', '.join(names) or 'no columns'}"
        )
    return _Plan(model_columns, keep)


def _wanted_columns(model: PyFuncModel, options: BatchOptions) -> list[str] | None:
    """The columns to read, or None for all (no named signature, or keeping every column)."""
    schema = model.input_schema
    if list(options.keep_columns) == ["*"] or schema is None or not schema.has_names:
        return None
    return list(dict.fromkeys([*schema.names, *options.keep_columns]))


def _describe(error: Exception, table: pa.Table) -> str:
    # the first line names the problem; models often add paragraphs of advice after it
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else type(error).__name__
    empty = [name for name in table.column_names if table.column(name).null_count]
    if empty:
        message += f" (no value in {', '.join(empty)})"
    infinite = [name for name in table.column_names if _has_infinity(table.column(name))]
    if infinite:
        message += f" (infinite value in {', '.join(infinite)})"
    return message


def _has_infinity(column: Any) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa.types.is_floating(column.type) and bool(pc.any(pc.is_inf(column)).as_py())


def _score(
    model: PyFuncModel,
    table: pa.Table,
    rows: np.ndarray,
    *,
    first_only: bool,
    params: dict[str, Any] | None = None,
) -> tuple[list[tuple[int, int, Any]], list[BadRow]]:
    """Predict ``table``, isolating rows that fail by halving; pieces come back in order."""
    pieces: list[tuple[int, int, Any]] = []
    bad: list[BadRow] = []
    stack = [(0, table.num_rows)]
    while stack:
        lo, hi = stack.pop()
        part = table.slice(lo, hi - lo)
        try:
            pieces.append((lo, hi, score_frame(model, to_frame(part), params)))
        except _DATA_ERRORS as e:
            if hi - lo == 1:
                bad.append(BadRow(int(rows[lo]), _describe(e, part)))
                if first_only:
                    break
            else:
                mid = (lo + hi) // 2
                stack += [(mid, hi), (lo, mid)]  # left half first keeps input order
        except MemoryError:
            raise
        except Exception as e:
            raise BatchError(
                f"the model failed on rows {rows[lo]}-{rows[hi - 1]}: {type(e).__name__}: {e}"
            ) from e
    return pieces, bad


def _output(keep: pa.Table, pieces: list[tuple[int, int, Any]], name: str) -> pa.Table:
    import pyarrow as pa

    parts = []
    for lo, hi, pred in pieces:
        part = keep.slice(lo, hi - lo)
        for column, values in prediction_columns(pred, hi - lo, name=name).items():
            if column in part.column_names:
                raise BatchError(
                    f"the prediction column {column!r} has the name of a kept input column; "
                    "choose another with --prediction-column (prediction_column=)"
                )
            try:
                part = part.append_column(column, pa.array(values))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                raise BatchError(f"cannot store the model's output as a column: {e}") from e
        parts.append(part)
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")


@dataclass
class _Run:
    model: PyFuncModel
    options: BatchOptions
    summary: PredictSummary
    on_bad_row: Callable[[BadRow], None] | None
    plan: _Plan | None = None
    params: dict[str, Any] | None = None

    def chunk(self, chunk: Chunk, sink: TableSink) -> None:
        table = chunk.table
        if self.plan is None:
            self.plan = _plan(self.model, table.column_names, self.options)
        self.summary.rows_read += table.num_rows + len(chunk.bad)
        present = [c for c in self.plan.model_columns if c in table.column_names]
        fail = self.options.on_error == "fail"
        pieces: list[tuple[int, int, Any]] = []
        bad: list[BadRow] = []
        if table.num_rows:
            pieces, bad = _score(
                self.model,
                table.select(present),
                chunk.rows,
                first_only=fail,
                params=self.params,
            )
        bad = sorted([*chunk.bad, *bad], key=lambda b: b.row)
        if bad and fail:
            raise BadRowError(bad[0])
        for b in bad:
            self.bad_row(b)
        if pieces:
            keep = table.select([c for c in self.plan.keep if c in table.column_names])
            out = _output(keep, pieces, self.options.prediction_column)
            sink.write(out)
            self.summary.rows_scored += out.num_rows

    def bad_row(self, bad: BadRow) -> None:
        self.summary.bad_row_count += 1
        if len(self.summary.bad_rows) < _KEEP_BAD:
            self.summary.bad_rows.append(bad)
        if self.on_bad_row is not None:
            self.on_bad_row(bad)


def run(
    model: PyFuncModel,
    input: str,
    *,
    output: str,
    options: BatchOptions,
    progress: Progress | None = None,
    on_bad_row: Callable[[BadRow], None] | None = None,
) -> PredictSummary:
    """Score ``input`` into ``output`` with a loaded model; the engine behind the CLI."""
    _require_batch()
    if options.on_error not in ON_ERROR:
        raise BatchError(f"on_error must be one of {', '.join(ON_ERROR)}, got {options.on_error!r}")
    in_fmt = format_for(input, options.input_format)
    out_fmt = format_for(output, options.output_format, fallback=in_fmt)
    if output == "-" and out_fmt == "parquet" and sys.stdout.isatty():
        raise BatchError(
            "refusing to write binary Parquet to a terminal; redirect it or pass -o FILE"
        )
    if output != "-" and input != "-" and Path(output).resolve() == Path(input).resolve():
        raise BatchError(f"the output {output} is the input file; choose another output path")
    params = method_params(model, options.predict_method)
    start = time.monotonic()
    summary = PredictSummary(output=output)
    state = _Run(model, options, summary, on_bad_row, params=params)
    reader = open_reader(
        input,
        in_fmt,
        batch_size=options.batch_size,
        types=arrow_types(model.input_schema),
        columns=_wanted_columns(model, options),
    )
    try:
        with atomic_output(output) as stream:
            sink = TableSink(stream, out_fmt)
            _loop(reader, state, sink, progress)
            _check_done(summary)
            sink.close()
    finally:
        reader.close()
        if progress is not None:
            progress.close()
    summary.seconds = time.monotonic() - start
    return summary


def _require_batch() -> None:
    """Raise MissingDependencyError naming the ``batch`` extra before any file is touched."""
    from modelpack._optional import require

    # pyarrow reads and writes every format; pandas is what frame-consuming models get.
    require("pyarrow", "batch", purpose="batch scoring")
    require("pandas", "batch", purpose="batch scoring")


def _loop(reader: Reader, state: _Run, sink: TableSink, progress: Progress | None) -> None:
    if progress is not None:
        progress.set_total(reader.total_rows)
    for chunk in reader:
        state.chunk(chunk, sink)
        if progress is not None:
            progress.update(state.summary.rows_read, reader.fraction())


def _check_done(summary: PredictSummary) -> None:
    if summary.rows_read == 0:
        raise BatchError("the input holds no rows; there is nothing to score")
    if summary.rows_scored == 0:
        first = summary.bad_rows[0] if summary.bad_rows else None
        raise BatchError(
            f"no row could be scored ({summary.bad_row_count} bad rows; the first: {first}); "
            "check that the input matches the model's signature (modelpack info MODEL_URI)"
        )


def predict_file(
    model: str | os.PathLike[str] | PyFuncModel,
    input: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str],
    input_format: str | None = None,
    output_format: str | None = None,
    batch_size: int = 10_000,
    keep_columns: Sequence[str] = (),
    on_error: str = "fail",
    prediction_column: str = "prediction",
    predict_method: str | None = None,
) -> PredictSummary:
    """Score a CSV, Parquet or JSON Lines file with a model, streaming it in chunks.

    Parameters
    ----------
    model
        A model URI (path, ``runs:/``, ``models:/``) or an already loaded :class:`PyFuncModel`.
    input
        The input file, or ``"-"`` for standard input (CSV and JSON Lines only).
    output
        The output file, or ``"-"`` for standard output. A file is written under a temporary
        name and renamed into place at the end, so a failure leaves no partial output.
    input_format, output_format
        ``"csv"``, ``"parquet"`` or ``"jsonl"``; by default taken from the file extension (the
        output defaults to the input's format).
    batch_size
        Rows per chunk passed to ``predict``.
    keep_columns
        Input columns to copy beside the prediction, or ``["*"]`` for all of them.
    on_error
        ``"fail"`` stops at the first bad row with :class:`BadRowError` naming its 1-based row
        number; ``"skip"`` leaves bad rows out and scores the rest.
    prediction_column
        Name of the prediction column (multi-output models get ``NAME_0``, ``NAME_1``, ... or
        ``NAME_<key>`` for named outputs).
    predict_method
        The model method to run: ``"predict_proba"``, ``"predict_log_proba"``,
        ``"decision_function"`` or ``"predict"`` (one of ``PyFuncModel.predict_methods``);
        default: the model's own. Probabilities come out as ``NAME_<class>`` columns.

    Returns
    -------
    PredictSummary
        Rows read and scored, the bad rows (the first 100, and their exact count), the time.
    """
    from modelpack.pyfunc import PyFuncModel

    if not isinstance(model, PyFuncModel):
        from modelpack._load import load_pyfunc

        model = load_pyfunc(model)
    options = BatchOptions(
        input_format=input_format,
        output_format=output_format,
        batch_size=batch_size,
        keep_columns=tuple(keep_columns),
        on_error=on_error,
        prediction_column=prediction_column,
        predict_method=predict_method,
    )
    return run(model, os.fspath(input), output=os.fspath(output), options=options)
