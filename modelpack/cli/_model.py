"""``modelpack info``, ``verify``, ``sign`` and ``keygen``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from modelpack.cli._output import print_json

__all__ = ["register"]

#: far more than any requirements.txt holds; a bigger one is damaged or hostile
_MAX_REQUIREMENTS = 1 << 20


def register(subparsers: Any) -> None:
    info = subparsers.add_parser(
        "info", help="show a model's flavors, signature, requirements and size"
    )
    info.add_argument("model_uri", metavar="MODEL_URI")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.set_defaults(func=_info)

    verify = subparsers.add_parser(
        "verify",
        help="check every file against the digests in MLmodel (exit 1 on any problem)",
    )
    verify.add_argument("model_uri", metavar="MODEL_URI")
    verify.add_argument(
        "--key",
        metavar="PUBKEY",
        help="also require a valid MLmodel.sig by this Ed25519 public key (PEM file)",
    )
    verify.set_defaults(func=_verify)

    sign = subparsers.add_parser(
        "sign", help="sign a model's MLmodel (which holds every file's digest) with an Ed25519 key"
    )
    sign.add_argument("model_uri", metavar="MODEL")
    sign.add_argument("--key", required=True, metavar="KEY", help="private key (PEM file)")
    sign.set_defaults(func=_sign)

    keygen = subparsers.add_parser(
        "keygen", help="write a new Ed25519 private key to PATH and its public key to PATH.pub"
    )
    keygen.add_argument("path", metavar="PATH")
    keygen.set_defaults(func=_keygen)


def _info(args: argparse.Namespace) -> int:
    from modelpack._env import REQUIREMENTS_FILE
    from modelpack._load import open_model
    from modelpack._safe_copy import read_model_file
    from modelpack._signature import Signature

    model_dir, manifest = open_model(args.model_uri, check=False)
    req_file = model_dir / REQUIREMENTS_FILE
    # info does not verify digests (it describes damaged models too): read requirements.txt
    # bounded, and never through a link or from a FIFO
    requirements: list[str] = []
    if req_file.exists() or req_file.is_symlink():
        raw = read_model_file(req_file, limit=_MAX_REQUIREMENTS)
        requirements = raw.decode("utf-8", errors="replace").split()
    sig = Signature.from_dict(manifest.signature) if manifest.signature else None
    data: dict[str, Any] = {
        "path": str(model_dir),
        "flavors": sorted(manifest.flavors),
        "model_uuid": manifest.model_uuid,
        "created": manifest.utc_time_created,
        "size_bytes": manifest.model_size_bytes,
        "run_id": manifest.run_id,
        "format_version": manifest.format_version,
        "preprocessor": manifest.preprocessor.class_name if manifest.preprocessor else None,
        "inputs": [s.to_dict() for s in sig.inputs.specs] if sig and sig.inputs else None,
        "outputs": [s.to_dict() for s in sig.outputs.specs] if sig and sig.outputs else None,
        "requirements": requirements,
    }
    if args.json:
        print_json(data)
        return 0
    for key in ("path", "model_uuid", "created", "size_bytes", "run_id", "format_version"):
        if data[key] is not None:
            print(f"{key + ':':16}{data[key]}")
    print(f"{'flavors:':16}{', '.join(data['flavors'])}")
    if data["preprocessor"]:
        print(f"{'preprocessor:':16}{data['preprocessor']}")
    for part in ("inputs", "outputs"):
        if data[part]:
            print(f"{part}:")
            for spec in data[part]:
                print(f"  {json.dumps(spec)}")
    print("requirements:")
    for line in requirements:
        print(f"  {line}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from modelpack._load import check_model, open_model

    model_dir, manifest = open_model(args.model_uri, check=False, require_signature=args.key)
    problems = check_model(model_dir, manifest)
    if not manifest.claims_modelpack:
        for problem in problems:
            print(f"FAIL {problem}")
        print(f"{model_dir}: no digests recorded (not written by modelpack); nothing to verify")
        return 1
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {model_dir}")
        return 1
    signed = " (signature valid)" if args.key else ""
    print(f"OK   {len(manifest.files)} files match their SHA-256 digests in {model_dir}{signed}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from modelpack._load import check_model, open_model
    from modelpack._signing import sign_model

    model_dir, manifest = open_model(args.model_uri, check=False)
    problems = check_model(model_dir, manifest)
    if not manifest.claims_modelpack or problems:
        for problem in problems:
            print(f"FAIL {problem}")
        print(
            f"{model_dir}: not signed; only a model whose files all match their digests can "
            "be signed (save it with modelpack first)"
        )
        return 1
    path = sign_model(model_dir, args.key)
    print(f"signed {model_dir} ({path.name})")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from modelpack._signing import generate_key

    private, public = generate_key(args.path)
    print(f"private key: {private} (keep it secret)\npublic key:  {public}")
    return 0
