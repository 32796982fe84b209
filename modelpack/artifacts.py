"""Reading run artifacts back: download, list, and load text, dicts and images.

MLflow's ``mlflow.artifacts`` functions. An artifact is named either by URI
(``runs:/<run_id>/notes/summary.txt``, a local path or ``file://`` URI, or ``models:/...``)
or by ``run_id`` plus ``artifact_path``::

    text = modelpack.artifacts.load_text(f"runs:/{run_id}/notes/summary.txt")
    local = modelpack.artifacts.download_artifacts(run_id=run_id, artifact_path="plots")
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from modelpack._artifacts import load_pil, split_runs_uri
from modelpack._client._tracking import TrackingClient
from modelpack._safe_copy import copy_model_file, copy_model_tree
from modelpack._store import FileInfo
from modelpack.exceptions import ModelNotFoundError, StoreError

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]


def _run_and_path(
    artifact_uri: str | None, run_id: str | None, artifact_path: str | None
) -> tuple[str, str] | None:
    """(run id, path) for a run's artifact; None when ``artifact_uri`` is not a runs:/ URI."""
    if (artifact_uri is None) == (run_id is None):
        raise StoreError("name the artifact by artifact_uri, or by run_id (and artifact_path)")
    if artifact_uri is not None and artifact_path is not None:
        raise StoreError("artifact_path goes with run_id; put the path in artifact_uri instead")
    if run_id is not None:
        return run_id, (artifact_path or "")
    assert artifact_uri is not None
    if artifact_uri.startswith("runs:"):
        return split_runs_uri(artifact_uri)
    return None


def _local_source(artifact_uri: str) -> Path:
    """The local file or folder a path, ``file://`` or ``models:/`` URI names."""
    if artifact_uri.startswith("models:"):
        from modelpack._uri import resolve_uri

        return resolve_uri(artifact_uri)
    parsed = urlparse(artifact_uri)
    text = unquote(parsed.path) if parsed.scheme == "file" else artifact_uri
    if len(parsed.scheme) > 1 and parsed.scheme != "file":
        raise StoreError(
            f"unsupported artifact URI {artifact_uri!r}: use runs:/<run_id>/<path>, models:/..., "
            "a local path or file:///path"
        )
    path = Path(text).expanduser()
    if not path.exists():
        raise ModelNotFoundError(f"no artifact at {path.absolute()}", uri=artifact_uri)
    return path


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> str:
    """Copy an artifact (a file or a folder) to a local directory and return the local path.

    Parameters
    ----------
    artifact_uri : str, optional
        ``runs:/<run_id>/<path>``, ``models:/...``, a local path or ``file://`` URI.
    run_id, artifact_path : str, optional
        Or the run and the path inside it ("" or None: all of the run's artifacts).
    dst_path : str, optional
        Where to copy to (created if missing; default: a new temporary directory).
    tracking_uri : str, optional
        The store to read from (default: the one in effect).
    registry_uri : str, optional
        Accepted for MLflow's sake; ``models:/`` URIs resolve in the store in effect.
    """
    dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
    target = _run_and_path(artifact_uri, run_id, artifact_path)
    if target is not None:
        return TrackingClient(tracking_uri).download_artifacts(target[0], target[1], str(dst))
    assert artifact_uri is not None
    source = _local_source(artifact_uri)
    dst.mkdir(parents=True, exist_ok=True)
    copy = dst / source.name
    # the folder named may be reached through a link; a link, FIFO or device inside it is
    # refused (IntegrityError naming it), as for every copy of a model or artifact folder
    if source.is_dir():
        copy_model_tree(source, copy, action="download", merge=True, tree="the artifact folder")
    else:
        copy_model_file(source, copy, action="download")
    return str(copy.absolute())


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """One level of a run's artifacts, paths relative to the run's artifact root."""
    target = _run_and_path(artifact_uri, run_id, artifact_path)
    if target is not None:
        return TrackingClient(tracking_uri).list_artifacts(target[0], target[1] or None)
    assert artifact_uri is not None
    source = _local_source(artifact_uri)
    if not source.is_dir():
        return []
    return [
        FileInfo(entry.name, entry.is_dir(), None if entry.is_dir() else entry.stat().st_size)
        for entry in sorted(source.iterdir(), key=lambda p: p.name)
    ]


def _read(artifact_uri: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="modelpack-load-") as tmp:
        local = download_artifacts(artifact_uri, dst_path=tmp)
        if os.path.isdir(local):
            raise StoreError(f"{artifact_uri} is a folder; name a file inside it")
        return Path(local).read_bytes()


def load_text(artifact_uri: str) -> str:
    """The text of an artifact file (UTF-8)."""
    return _read(artifact_uri).decode("utf-8")


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A JSON artifact (or YAML, for a ``.yaml``/``.yml`` file) as a dict."""
    text = load_text(artifact_uri)
    if artifact_uri.lower().endswith((".yaml", ".yml")):
        import yaml

        loaded = yaml.safe_load(text)
    else:
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as e:
            raise StoreError(f"{artifact_uri} does not hold JSON: {e}") from e
    if not isinstance(loaded, dict):
        raise StoreError(f"{artifact_uri} holds a {type(loaded).__name__}, not a dict")
    return loaded


def load_image(artifact_uri: str) -> Any:
    """An image artifact as a PIL image (needs ``pip install pillow``)."""
    image_module = load_pil("load_image")
    with tempfile.TemporaryDirectory(prefix="modelpack-load-") as tmp:
        local = download_artifacts(artifact_uri, dst_path=tmp)
        with image_module.open(local) as image:
            image.load()
            return image.copy()
