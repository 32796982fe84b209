"""The model card of a registered version, and the difference between two versions.

Read from the version's model directory (its MLmodel, requirements and files) when the store
keeps it on this machine; a remote location shows the registry's facts only.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path
from typing import Any

from modelpack._manifest import MLMODEL_FILE, read_manifest
from modelpack._store import ModelVersion, Store
from modelpack.exceptions import ModelpackError

__all__ = ["model_card", "snippets", "version_dir"]

_EXAMPLE_BYTES = 64 * 1024
_MAX_FILES = 2000


def version_dir(store: Store, version: ModelVersion) -> Path | None:
    """The version's model directory on this machine, or None (remote, moved or deleted)."""
    location = version.storage_location
    if "://" in location:
        return None
    path = Path(location)
    if not path.is_absolute():
        path = store.artifact_root / path
    return path if (path / MLMODEL_FILE).is_file() else None


def snippets(name: str, version: int) -> dict[str, str]:
    uri = f"models:/{name}/{version}"
    quoted = json.dumps(uri)
    shell = shlex.quote(uri)
    return {
        "load": (
            "import modelpack\n\n"
            f"model = modelpack.load_model({quoted})\n"
            "predictions = model.predict(frame)"
        ),
        "serve": f"modelpack serve {shell} --port 8080",
        "batch": f"modelpack predict {shell} -i input.csv -o predictions.csv",
        "pack": f"modelpack pack {shell} -o model.tar.gz",
    }


def _read_small(path: Path, limit: int, model_dir: Path) -> str | None:
    """The first ``limit`` bytes of a regular file inside ``model_dir``; None for anything else
    (a link, a FIFO or device, a path leading out of the model), which is never opened or
    followed: a model card must not show what a planted link points at, nor hang on a FIFO."""
    try:
        inside = path.resolve().is_relative_to(model_dir.resolve())
    except (OSError, RuntimeError):
        return None
    if not inside:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(limit + 1)
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    text = data[:limit].decode("utf-8", errors="replace")
    return text + "\n..." if len(data) > limit else text


def _files(model_dir: Path, digests: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for folder, dirs, names in os.walk(model_dir):
        dirs.sort()
        for name in sorted(names):
            full = Path(folder) / name
            rel = full.relative_to(model_dir).as_posix()
            try:
                size = full.lstat().st_size
            except OSError:
                size = None
            out.append({"path": rel, "size": size, "digest": digests.get(rel)})
            if len(out) >= _MAX_FILES:
                return out
    return out


def _from_directory(model_dir: Path) -> dict[str, Any]:
    manifest = read_manifest(model_dir)
    example = None
    info = manifest.saved_input_example_info or {}
    example_path = info.get("artifact_path")
    if isinstance(example_path, str) and "/" not in example_path and ".." not in example_path:
        example = _read_small(model_dir / example_path, _EXAMPLE_BYTES, model_dir)
    files = _files(model_dir, manifest.files)
    return {
        "flavors": manifest.flavors,
        "signature": manifest.signature,
        "input_example": example,
        "preprocessor": None if manifest.preprocessor is None else manifest.preprocessor.to_dict(),
        "requirements": _read_small(model_dir / "requirements.txt", _EXAMPLE_BYTES, model_dir),
        "python_env": _read_small(model_dir / "python_env.yaml", _EXAMPLE_BYTES, model_dir),
        "files": files,
        "total_size": sum(f["size"] or 0 for f in files),
        "model_uuid": manifest.model_uuid,
        "created": manifest.utc_time_created,
        "modelpack_version": manifest.modelpack_version,
    }


def model_card(store: Store, name: str, version: int) -> dict[str, Any]:
    mv = store.get_model_version(name, version)
    card: dict[str, Any] = {"version": mv.to_row(), "snippets": snippets(name, version)}
    card["version"]["user_id"] = mv.user_id
    card["version"]["last_updated"] = mv.last_updated_timestamp
    model_dir = version_dir(store, mv)
    card["local"] = model_dir is not None
    card["model"] = None
    card["problem"] = None
    if model_dir is not None:
        try:
            card["model"] = _from_directory(model_dir)
        except (ModelpackError, OSError, ValueError) as e:
            card["problem"] = f"cannot read the model directory: {e}"
    else:
        card["problem"] = f"the model files are not on this machine ({mv.storage_location})"
    run: dict[str, Any] | None = None
    if mv.run_id:
        try:
            found = store.get_run(mv.run_id)
            run = {
                "run_id": found.info.run_id,
                "run_name": found.info.run_name,
                "params": found.data.params,
                "metrics": found.data.metrics,
            }
        except LookupError:
            run = {"run_id": mv.run_id, "missing": True}
    card["run"] = run
    return card
