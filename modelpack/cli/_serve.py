"""``modelpack serve``: the scoring server."""

from __future__ import annotations

import argparse
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
        help="serve models over HTTP (MLflow scoring protocol and Open Inference Protocol)",
        description="Serve one or more models over HTTP: POST /invocations/<name> and, for "
        "the default model, /invocations (MLflow's scoring protocol); "
        "/v2/models/<name>/infer (the Open Inference Protocol, KServe V2) and its repository "
        "extension (/v2/repository/index, /v2/repository/models/<name>/load and /unload); "
        "/ping, /health, /version and /metrics. Listens once every worker has loaded every "
        "model.",
    )
    serve.add_argument(
        "model_uri",
        metavar="MODEL",
        nargs="*",
        help="a model URI, or NAME=URI to serve it under NAME (default name: the registered "
        "model's name for models:/ URIs, else the model folder's name)",
    )
    serve.add_argument(
        "--model-repository",
        metavar="DIR",
        help="also serve every sub-folder of DIR holding a model, named by its folder; "
        "folders added later load through POST /v2/repository/models/<name>/load",
    )
    serve.add_argument(
        "--default-model",
        metavar="NAME",
        help="the model POST /invocations answers with when several are served (default: the "
        "only one; with several and none chosen, /invocations answers 400 naming them)",
    )
    serve.add_argument(
        "--watch-interval",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="for models:/<name>@<alias> (or /<stage>, /latest), look up the version it names "
        "every SECONDS; when it moves, load the new version beside the old and switch once it "
        "is loaded, refusing no request (default: never look again)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks one)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes, each with the model (default: 1)"
    )
    serve.add_argument(
        "--name",
        help="with one model, its name for /invocations/<name> and /v2/models/<name> "
        "(default: the registered name, or the model directory's name; with several: NAME=URI)",
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
        "--grpc-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the Open Inference Protocol over gRPC (inference.GRPCInferenceService) "
        "on this port of --host; 0 picks one (needs the grpc extra)",
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not write a JSON line per request to standard error",
    )
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from modelpack.serving import serve
    from modelpack.serving._repository import parse_model_args, unique_names

    if args.workers < 1 or args.batch_max_size < 1 or args.batch_max_latency_ms < 0:
        return _usage(
            "--workers and --batch-max-size must be at least 1, --batch-max-latency-ms at least 0"
        )
    if not args.model_uri and not args.model_repository:
        return _usage("give a model URI (or several), or --model-repository DIR")
    sources = parse_model_args(args.model_uri)
    if args.name:
        if len(sources) != 1:
            return _usage("--name names the only model; with several, write NAME=URI")
        sources = [replace(sources[0], name=args.name)]
    # the Python API's serve() is the one implementation; a busy port or a bad address is an
    # OSError naming it, which main() prints as one line
    serve(
        models=unique_names(sources),
        model_repository=args.model_repository,
        default_model=args.default_model,
        watch_interval=args.watch_interval,
        predict_method=args.predict_method,
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port,
        workers=args.workers,
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


def _usage(message: str) -> int:
    print(f"modelpack: error: {message}", file=sys.stderr)
    return 2
