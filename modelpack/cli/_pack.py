"""``modelpack pack``, ``modelpack unpack`` and ``modelpack build-docker``."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_uri", metavar="MODEL_URI")
    p.add_argument(
        "--platform",
        action="append",
        default=[],
        dest="platforms",
        metavar="TAG",
        help="target platform tag for the wheels, e.g. manylinux_2_28_x86_64 (repeatable; "
        "default: this machine's)",
    )
    p.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR",
        help="also take wheels from DIR (repeatable), e.g. ones built with `pip wheel`",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where downloaded wheels are kept (default: ~/.cache/modelpack/wheels, or "
        "$MODELPACK_CACHE_DIR/wheels)",
    )


def register(subparsers: Any) -> None:
    pack = subparsers.add_parser(
        "pack",
        help="pack a model into one archive that installs and serves it offline",
    )
    _common(pack)
    pack.add_argument("-o", "--output", required=True, metavar="FILE.tar.gz")
    pack.add_argument(
        "--env",
        choices=("auto", "wheelhouse", "conda"),
        default="auto",
        help="wheelhouse (wheels + lock), or conda (conda-pack the environment); auto picks "
        "conda when Python runs in a conda environment",
    )
    pack.add_argument(
        "--extras",
        default="serve,batch",
        metavar="A,B",
        help="modelpack extras to bundle besides the model's requirements (default: "
        "serve,batch: the server for ./serve, pandas and pyarrow for ./predict)",
    )
    pack.add_argument(
        "--conda-prefix",
        metavar="DIR",
        help="the conda environment to pack (default: the running one)",
    )
    pack.set_defaults(func=_pack)

    unpack = subparsers.add_parser(
        "unpack",
        help="extract a packed model safely and verify every file's digest",
    )
    unpack.add_argument("archive", metavar="FILE.tar.gz")
    unpack.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="DIR",
        help="directory to extract into (default: here)",
    )
    unpack.add_argument(
        "--max-size",
        type=_size,
        default=None,
        metavar="SIZE",
        help="refuse an archive that expands to more than SIZE, e.g. 500M or 20G (default: 10G)",
    )
    unpack.add_argument(
        "--max-files",
        type=_count,
        default=None,
        metavar="N",
        help="refuse an archive of more than N files, folders and links (default: 100000)",
    )
    unpack.set_defaults(func=_unpack)

    docker = subparsers.add_parser(
        "build-docker",
        help="write a Docker build context that serves the model",
    )
    _common(docker)
    docker.add_argument("-o", "--output", required=True, metavar="DIR")
    docker.add_argument("--port", type=int, default=8080, help="port the server listens on")
    docker.set_defaults(func=_docker)


def _pack(args: argparse.Namespace) -> int:
    from modelpack._progress import human_size
    from modelpack.pack._bundle import PackOptions, pack

    out = pack(
        args.model_uri,
        args.output,
        PackOptions(
            platforms=args.platforms,
            env=args.env,
            conda_prefix=args.conda_prefix,
            find_links=args.find_links,
            cache_dir=args.cache_dir,
            source_uri=args.model_uri,
            extras=tuple(e.strip() for e in args.extras.split(",") if e.strip()),
        ),
    )
    from modelpack.pack._wheelhouse import sha256_of

    print(
        f"packed {args.model_uri} into {out} ({human_size(out.stat().st_size)}, "
        f"sha256 {sha256_of(out)})"
    )
    name = out.name.removesuffix(".tar.gz").removesuffix(".tgz")
    print(f"on the target: tar xzf {out.name} && ./{name}/serve --port 8080")
    return 0


def _size(text: str) -> int:
    from modelpack.pack._archive import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return value


def _unpack(args: argparse.Namespace) -> int:
    from modelpack.pack._archive import DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE
    from modelpack.pack._bundle import unpack

    root = unpack(
        args.archive,
        args.output,
        max_size=DEFAULT_MAX_SIZE if args.max_size is None else args.max_size,
        max_files=DEFAULT_MAX_FILES if args.max_files is None else args.max_files,
    )
    print(f"unpacked and verified {root}")
    print(f"serve it with: {root}/serve --port 8080")
    return 0


def _docker(args: argparse.Namespace) -> int:
    from modelpack.pack._docker import DockerOptions, build_context

    out = build_context(
        args.model_uri,
        args.output,
        DockerOptions(
            platforms=args.platforms,
            find_links=args.find_links,
            cache_dir=args.cache_dir,
            port=args.port,
        ),
    )
    print(f"wrote a Docker build context to {out}")
    print(
        f"build and run it with: docker build -t model {out} && docker run -p "
        f"{args.port}:{args.port} model"
    )
    return 0
