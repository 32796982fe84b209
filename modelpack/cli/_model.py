"""``modelpack info`` and ``modelpack verify``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from modelpack.cli._output import print_json

__all__ = ["register"]


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
    verify.set_defaults(func=_verify)


def _info(args: argparse.Namespace) -> int:
    from modelpack._env import REQUIREMENTS_FILE
    from modelpack._load import open_model
    from modelpack._signature import Signature

    model_dir, manifest = open_model(args.model_uri, check=False)
    req_file = model_dir / REQUIREMENTS_FILE
    requirements = req_file.read_text().split() if req_file.exists() else []
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

    model_dir, manifest = open_model(args.model_uri, check=False)
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
    print(f"OK   {len(manifest.files)} files match their SHA-256 digests in {model_dir}")
    return 0
