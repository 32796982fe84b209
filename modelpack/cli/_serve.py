"""``modelpack serve``: the scoring server."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["register"]


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP (MLflow scoring protocol and Open Inference Protocol)",
        description="Serve a model over HTTP: POST /invocations (MLflow's scoring protocol), "
        "/v2/models/<name>/infer (the Open Inference Protocol, KServe V2), /ping, /health, "
        "/version and /metrics. Listens once every worker has loaded the model.",
    )
    serve.add_argument("model_uri", metavar="MODEL_URI")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks one)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes, each with the model (default: 1)"
    )
    serve.add_argument(
        "--name",
        help="model name for the /v2/models/<name> endpoints (default: the registered name, "
        "or the model directory's name)",
    )
    serve.add_argument(
        "--batch-max-size",
        type=int,
        default=64,
        metavar="ROWS",
        help="most rows merged into one predict call (default: 64)",
    )
    serve.add_argument(
        "--batch-max-latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="how long a lone request waits for others to batch with (default: 0: only "
        "requests already received; batches still grow under load)",
    )
    serve.add_argument(
        "--no-batching",
        dest="batching",
        action="store_false",
        default=None,
        help="never merge requests (batching is on by default for row-wise models)",
    )
    serve.add_argument(
        "--max-body-mb",
        type=_positive_float,
        default=64.0,
        metavar="MIB",
        help="refuse request bodies larger than this with 413 (default: 64)",
    )
    serve.add_argument(
        "--max-cells",
        type=_positive_int,
        default=None,
        metavar="N",
        help="refuse requests that decode to more cells (rows x columns) with 413 "
        "(default: MODELPACK_SERVE_MAX_CELLS, else 1,000,000)",
    )
    serve.add_argument(
        "--max-header-kb",
        type=_positive_float,
        default=None,
        metavar="KIB",
        help="refuse a request line plus headers larger than this with 431 (default: 64)",
    )
    serve.add_argument(
        "--keep-alive-timeout",
        type=_positive_float,
        default=None,
        metavar="S",
        help="close a connection idle this many seconds (default: 5)",
    )
    serve.add_argument(
        "--request-timeout",
        type=_positive_float,
        default=None,
        metavar="S",
        help="answer 408 and close a connection whose request has not fully arrived after this "
        "many seconds (default: 30)",
    )
    serve.add_argument(
        "--predict-method",
        choices=("predict", "predict_proba", "predict_log_proba", "decision_function"),
        default=None,
        help="the model method a request runs when its params name no predict_method "
        "(default: the model's own; the model must have it)",
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not write a JSON line per request to standard error",
    )
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from modelpack.serving import serve

    if args.workers < 1 or args.batch_max_size < 1 or args.batch_max_latency_ms < 0:
        print(
            "modelpack: error: --workers and --batch-max-size must be at least 1, "
            "--batch-max-latency-ms at least 0",
            file=sys.stderr,
        )
        return 2
    if args.predict_method:  # read by every worker's loaded model (PyFuncModel)
        from modelpack._pyfunc_model import PREDICT_METHOD_ENV

        os.environ[PREDICT_METHOD_ENV] = args.predict_method
    # A busy port or a bad address is an OSError naming it; main() prints it as one line.
    serve(
        args.model_uri,
        host=args.host,
        port=args.port,
        workers=args.workers,
        name=args.name,
        batching=args.batching,
        batch_max_size=args.batch_max_size,
        batch_max_latency_ms=args.batch_max_latency_ms,
        max_body_mb=args.max_body_mb,
        max_cells=args.max_cells,
        max_header_kb=args.max_header_kb,
        keep_alive_timeout=args.keep_alive_timeout,
        request_timeout=args.request_timeout,
        access_log=args.access_log,
    )
    return 0
