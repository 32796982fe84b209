"""``modelpack predict``: stream a CSV, Parquet or JSON Lines file through a model."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["register"]

_SHOWN_BAD_ROWS = 20


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="score a CSV, Parquet or JSON Lines file in chunks (flat memory at any size)",
        description="Score INPUT with the model in chunks and write the predictions to OUTPUT. "
        "Formats come from the file extensions (.csv, .parquet/.pq, .jsonl/.ndjson) unless "
        "given. OUTPUT appears only when every row was handled; a failure or interrupt leaves "
        "nothing behind.",
    )
    p.add_argument("model_uri", metavar="MODEL_URI")
    p.add_argument("-i", "--input", required=True, help="input file, or - for standard input")
    p.add_argument("-o", "--output", required=True, help="output file, or - for standard output")
    formats = ("csv", "parquet", "jsonl")
    p.add_argument("--format", choices=formats, help="input format (needed for standard input)")
    p.add_argument(
        "--output-format",
        choices=formats,
        help="output format (default: from OUTPUT's name, else the input format)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=10_000,
        metavar="N",
        help="rows per predict call (default: 10000)",
    )
    p.add_argument(
        "--keep-columns",
        default="",
        metavar="A,B",
        help="input columns to copy beside the prediction ('*' for all)",
    )
    p.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="on a bad row: stop with its row number (fail, the default), or leave "
        "it out and score the rest (skip)",
    )
    p.add_argument(
        "--prediction-column",
        default="prediction",
        metavar="NAME",
        help="name of the prediction column (default: prediction)",
    )
    p.add_argument(
        "--predict-method",
        choices=("predict", "predict_proba", "predict_log_proba", "decision_function"),
        default=None,
        help="the model method to run (default: the model's own); probabilities come out "
        "as one column per class, PREDICTION_COLUMN_<class>",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress line (it is only shown when stderr is a terminal)",
    )
    p.set_defaults(func=_predict)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into an exception so the temporary output is removed on the way out."""

    def handler(signum: int, frame: Any) -> None:
        print("modelpack: terminated", file=sys.stderr)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _predict(args: argparse.Namespace) -> int:
    from modelpack._load import load_pyfunc
    from modelpack._progress import Progress
    from modelpack.batch._errors import BadRow
    from modelpack.batch._predict import BatchOptions, run

    keep = [c.strip() for c in args.keep_columns.split(",") if c.strip()]
    options = BatchOptions(
        input_format=args.format,
        output_format=args.output_format,
        batch_size=args.batch_size,
        keep_columns=tuple(keep),
        on_error=args.on_error,
        prediction_column=args.prediction_column,
        predict_method=args.predict_method,
    )
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        progress = Progress(unit="rows", stream=sys.stderr, enabled=True, interval=0.2)
    shown = 0

    def report(bad: BadRow) -> None:
        nonlocal shown
        shown += 1
        if shown <= _SHOWN_BAD_ROWS:
            text = f"modelpack: skipped {bad}"
            if progress is not None:
                progress.message(text)
            else:
                print(text, file=sys.stderr)

    with _sigterm_unwinds():
        model = load_pyfunc(args.model_uri)
        # A reader of standard output that goes away (`| head`) ends the run quietly: main()
        # turns the BrokenPipeError into exit status 141.
        summary = run(
            model,
            args.input,
            output=args.output,
            options=options,
            progress=progress,
            on_bad_row=report,
        )
    print(_summary_line(summary, args.output), file=sys.stderr)
    return 0


def _summary_line(summary: Any, output: str) -> str:
    rate = summary.rows_scored / summary.seconds if summary.seconds else 0.0
    where = "standard output" if output == "-" else output
    line = (
        f"modelpack: scored {summary.rows_scored:,} rows in {summary.seconds:.1f}s "
        f"({rate:,.0f} rows/s) -> {where}"
    )
    if summary.bad_row_count:
        line += f"; skipped {summary.bad_row_count:,} bad rows"
        if summary.bad_row_count > _SHOWN_BAD_ROWS:
            line += f" ({summary.bad_row_count - _SHOWN_BAD_ROWS:,} not listed)"
    return line
