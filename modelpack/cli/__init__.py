"""The ``modelpack`` command line (also ``python -m modelpack``).

Each group of subcommands lives in its own module with a ``register(subparsers)`` function;
``main`` wires them up. Commands import heavy libraries only when they run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from modelpack._version import __version__
from modelpack.exceptions import ModelpackError

__all__ = ["error_line", "main"]

# Modules that contribute subcommands, in the order their commands are listed in --help.
_COMMAND_MODULES = [
    "modelpack.cli._model",
    "modelpack.cli._tracking",
    "modelpack.cli._env",
    "modelpack.cli._pack",
    "modelpack.cli._predict",
    "modelpack.cli._serve",
    "modelpack.cli._server",
    "modelpack.cli._store",
    "modelpack.cli._ui",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelpack",
        description="Package trained models once; save, find, load, serve and ship them.",
        epilog="Every MODEL_URI accepts a path, file://, runs:/<run_id>/<path>, "
        "models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest or "
        "models:/<name>/<stage>.",
    )
    parser.add_argument("--version", action="version", version=f"modelpack {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


# What a user can cause: modelpack's own errors, files, permissions and ports (OSError), and
# values refused as invalid (ValueError). Anything else is a bug and keeps its traceback.
_USER_ERRORS = (ModelpackError, OSError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("modelpack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of standard output went away (e.g. `| head`): stop quietly, and point
        # stdout at /dev/null so the interpreter's final flush does not complain
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except _USER_ERRORS as e:
        print(f"modelpack: error: {error_line(e)}", file=sys.stderr)
        return 1


def error_line(error: BaseException) -> str:
    """The error as one line: ``strerror: filename`` for OS errors, else its message."""
    text = str(error)
    if isinstance(error, OSError) and not isinstance(error, ModelpackError) and error.strerror:
        names = [repr(n) for n in (error.filename, error.filename2) if n is not None]
        text = f"{error.strerror}: {' -> '.join(names)}" if names else error.strerror
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines) or type(error).__name__
