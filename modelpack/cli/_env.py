"""``modelpack env create`` and ``modelpack env export``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    env = subparsers.add_parser("env", help="restore or print a model's Python environment")
    sub = env.add_subparsers(dest="env_command", metavar="COMMAND")
    env.set_defaults(func=lambda args: (env.print_help(), 2)[1])

    create = sub.add_parser(
        "create",
        help="create a virtual environment with the model's pinned requirements and modelpack",
        description="Create a virtual environment from the model's requirements.lock (or "
        "requirements.txt) plus a wheel of the running modelpack, with uv when available, "
        "else venv + pip.",
    )
    create.add_argument("model_uri", metavar="MODEL_URI")
    create.add_argument("--path", required=True, help="directory of the new environment")
    create.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR",
        help="also look for wheels in DIR (repeatable); a modelpack wheel there is used",
    )
    create.add_argument(
        "--offline",
        action="store_true",
        help="use no package index: install only from --find-links directories",
    )
    tool = create.add_mutually_exclusive_group()
    tool.add_argument("--uv", dest="use_uv", action="store_true", default=None, help="require uv")
    tool.add_argument(
        "--no-uv",
        dest="use_uv",
        action="store_false",
        help="use venv + pip even when uv is available",
    )
    create.add_argument("--quiet", action="store_true", help="print only the result")
    create.set_defaults(func=_create)

    export = sub.add_parser("export", help="print the model's environment")
    export.add_argument("model_uri", metavar="MODEL_URI")
    export.add_argument(
        "--format",
        choices=("requirements", "lock", "conda"),
        default="requirements",
        help="requirements.txt (default), the full lock, or a conda environment file",
    )
    export.set_defaults(func=_export)


def _create(args: argparse.Namespace) -> int:
    from modelpack._load import open_model
    from modelpack.pack._venv import create_env

    model_dir, _ = open_model(args.model_uri)
    plan = create_env(
        model_dir,
        args.path,
        find_links=args.find_links,
        offline=args.offline,
        use_uv=args.use_uv,
        quiet=args.quiet,
    )
    python = plan.path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    print(
        f"created {plan.path} with {plan.installer} from {plan.source} "
        f"(+ {plan.modelpack_wheel.name})"
    )
    print(f"run the model with: {python} -m modelpack serve {model_dir}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from modelpack import _env
    from modelpack._load import open_model

    model_dir, _ = open_model(args.model_uri)
    name = {
        "requirements": _env.REQUIREMENTS_FILE,
        "lock": _env.LOCK_FILE,
        "conda": _env.CONDA_FILE,
    }[args.format]
    path = model_dir / name
    if not path.is_file():
        print(f"modelpack: error: {model_dir} has no {name} (saved without one)", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0
