"""``modelpack ui``: browse runs, compare them and manage the registry in a web browser."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    ui = subparsers.add_parser(
        "ui",
        help="browse, compare and chart runs and manage the registry in a web browser",
        description="Serve the web UI over a store: the runs table, comparisons with charts, "
        "run pages with artifacts, and the model registry. Read-only unless a token file is "
        "given; then aliases, stages and descriptions can be changed after signing in.",
    )
    ui.add_argument(
        "--store",
        metavar="URI",
        help="the store to show (default: MODELPACK_STORE_URI, else ./modelpack-store)",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    ui.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    ui.add_argument(
        "--auth-token-file",
        metavar="FILE",
        help="allow changes to whoever presents a token of FILE (one a line; 'ro:<token>' "
        "only signs in to look)",
    )
    ui.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from modelpack._optional import require
    from modelpack.ui._app import create_app, read_token_file

    uvicorn = require("uvicorn", "ui", purpose="the web UI")
    require("httptools", "ui", purpose="the web UI's HTTP parser")
    write, read = read_token_file(args.auth_token_file) if args.auth_token_file else ([], [])
    app = create_app(args.store, token=write, read_tokens=read)
    where = f"http://{args.host}:{args.port}/"
    mode = "changes need the token" if write else "read-only"
    print(f"modelpack ui: serving {where} ({mode}); press Ctrl+C to stop", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http="httptools",
        log_level="warning",
        access_log=False,
    )
    return 0
