"""``modelpack server``: the team tracking and registry server (MLflow's REST API)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def register(subparsers: Any) -> None:
    server = subparsers.add_parser(
        "server",
        help="run the team tracking and registry server (MLflow's REST API)",
        description="Serve runs, the model registry and artifacts over MLflow's REST API, so "
        "modelpack and MLflow clients on other machines share one store. Stateless: run any "
        "number of processes or hosts on the same store and artifact destination.",
    )
    server.add_argument(
        "--backend-store-uri",
        required=True,
        metavar="URI",
        help="the runs and registry store (a directory, sqlite:///path/to.db, ...)",
    )
    server.add_argument(
        "--artifacts-destination",
        required=True,
        metavar="URI",
        help="where artifacts are kept: a local folder or s3://bucket/prefix",
    )
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    server.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    server.add_argument(
        "--workers", type=_positive_int, default=1, help="worker processes (default: 1)"
    )
    server.add_argument(
        "--auth-token-file",
        metavar="FILE",
        help="require a bearer token: one per line, 'ro:<token>' for a read-only one",
    )
    server.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from modelpack.server._app import ServerConfig
    from modelpack.server._run import run

    config = ServerConfig(
        backend_store_uri=args.backend_store_uri,
        artifacts_destination=args.artifacts_destination,
        auth_token_file=args.auth_token_file,
    )
    run(config, host=args.host, port=args.port, workers=args.workers)
    return 0
