"""Model URIs: parsing, and resolution to a local model directory.

Accepted forms::

    path/to/model   /abs/path   file:///abs/path   file:relative/path
    runs:/<run_id>/<artifact path>
    models:/<name>/<version>   models:/<name>@<alias>   models:/<name>/latest
    models:/<name>/<stage>     (Staging, Production, Archived, None)
    s3://<bucket>/<path>   gs://...   abfs://...   (any scheme fsspec implements)

Every loader, the CLI and the server resolve through :func:`resolve_uri`. This module owns
URI resolution: ``runs:/`` and ``models:/`` are looked up through the store's public interface
(``modelpack._store``), which never imports this module. The store is imported on first use,
so parsing and resolving a plain path do not load it. A remote model directory (``s3://``
and the other storage schemes, also as a run's artifact root or a version's storage
location) resolves to a verified local copy in the download cache of ``modelpack._storage``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from modelpack._swap import recover
from modelpack.exceptions import ModelNotFoundError

if TYPE_CHECKING:
    from modelpack._store import ModelVersion, Run, Store

__all__ = [
    "ModelURI",
    "model_version_for",
    "parse_uri",
    "resolve_in_store",
    "resolve_run",
    "resolve_uri",
]


@dataclass(frozen=True)
class ModelURI:
    """A parsed model URI. ``kind`` is ``path``, ``runs``, ``models`` or ``remote``.

    For ``remote`` (``s3://bucket/model``, ``gs://...``), ``path`` is the whole URI.
    """

    raw: str
    kind: str
    path: str | None = None
    run_id: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    latest: bool = False


def _bad(uri: str, why: str) -> ModelNotFoundError:
    return ModelNotFoundError(f"invalid model URI {uri!r}: {why}", uri=uri)


def parse_uri(uri: str | os.PathLike[str]) -> ModelURI:
    """Parse a model URI without touching the file system or the store."""
    raw = os.fspath(uri)
    if raw.startswith("runs:"):
        rest = raw[len("runs:") :].lstrip("/")
        run_id, _, path = rest.partition("/")
        if not run_id or not path:
            raise _bad(raw, "expected runs:/<run_id>/<artifact path>")
        return ModelURI(raw, "runs", run_id=run_id, path=path.strip("/"))
    if raw.startswith("models:"):
        return _parse_models(raw)
    if raw.startswith("file:"):
        parsed = urlparse(raw)
        if parsed.netloc not in ("", "localhost"):
            raise _bad(raw, f"file URIs must be local, got host {parsed.netloc!r}")
        return ModelURI(raw, "path", path=unquote(parsed.path) or ".")
    scheme = urlparse(raw).scheme
    if len(scheme) > 1:  # one letter is a Windows drive
        if _is_remote(raw):
            return ModelURI(raw, "remote", path=raw)
        raise _bad(
            raw,
            f"unknown scheme {scheme!r}; use a path, file://, runs:/, models:/, s3:// or "
            "another storage scheme (gs://, abfs://: pip install fsspec and its package)",
        )
    return ModelURI(raw, "path", path=raw)


def _is_remote(location: str) -> bool:
    """True for a storage URI (``s3://``, ``gs://``, ...), which the download cache resolves."""
    from modelpack._storage import is_remote_scheme, scheme_of

    return is_remote_scheme(scheme_of(location))


def _fetch(location: str) -> Path:
    from modelpack._storage import fetch_model

    return fetch_model(location)


def _parse_models(raw: str) -> ModelURI:
    from modelpack._store import STAGES

    rest = raw[len("models:") :].lstrip("/")
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        if not name or not alias or "/" in alias:
            raise _bad(raw, "expected models:/<name>@<alias>")
        return ModelURI(raw, "models", name=name, alias=alias)
    name, _, ref = rest.rpartition("/")
    if not name or not ref:
        raise _bad(raw, "expected models:/<name>/<version|stage|latest> or models:/<name>@<alias>")
    if ref.isdigit():
        return ModelURI(raw, "models", name=name, version=int(ref))
    if ref.lower() == "latest":
        return ModelURI(raw, "models", name=name, latest=True)
    for stage in STAGES:
        if ref.lower() == stage.lower():
            return ModelURI(raw, "models", name=name, stage=stage)
    raise _bad(
        raw,
        f"{ref!r} is not a version number, 'latest', an alias (use @) or a stage "
        f"({', '.join(STAGES)})",
    )


def resolve_uri(uri: str | os.PathLike[str]) -> Path:
    """Resolve a model URI to an existing local model directory."""
    parsed = parse_uri(uri)
    if parsed.kind == "path":
        assert parsed.path is not None
        path = Path(parsed.path).expanduser()
        recover(path)  # an overwrite save killed between its renames left the old model aside
        if not path.exists():
            raise ModelNotFoundError(
                f"no model at {path.absolute()}: the path does not exist", uri=parsed.raw
            )
        if not path.is_dir():
            raise ModelNotFoundError(
                f"{path} is a file; a model URI names the model directory (the one holding MLmodel)",
                uri=parsed.raw,
            )
        return path.absolute()
    if parsed.kind == "remote":
        return _fetch(parsed.raw)
    from modelpack._store import get_store

    return resolve_in_store(get_store(), parsed)


def resolve_in_store(store: Store, uri: ModelURI) -> Path:
    """The local model directory a parsed ``runs:/`` or ``models:/`` URI names in ``store``."""
    if uri.kind == "runs":
        return resolve_run(store, uri)[0]
    version = model_version_for(store, uri)
    if _is_remote(version.storage_location):
        return _fetch(version.storage_location)
    path = Path(version.storage_location)
    if not (path / "MLmodel").is_file():
        raise ModelNotFoundError(
            f"version {version.version} of {version.name!r} points at {path}, which holds no "
            "model any more (deleted or moved outside modelpack); register the model again",
            uri=uri.raw,
        )
    return path


def model_version_for(store: Store, uri: ModelURI) -> ModelVersion:
    """The version a parsed ``models:/`` URI names."""
    assert uri.name is not None
    if uri.alias is not None:
        return store.get_model_version_by_alias(uri.name, uri.alias)
    if uri.version is not None:
        return store.get_model_version(uri.name, uri.version)
    if uri.stage is not None:
        return store.get_latest_version(uri.name, uri.stage)
    return store.get_latest_version(uri.name)


def resolve_run(store: Store, uri: ModelURI) -> tuple[Path, Run]:
    """The local model directory a parsed ``runs:/`` URI names, and the run (for its tags)."""
    assert uri.run_id is not None and uri.path is not None
    run = store.get_run(uri.run_id)
    return _run_model_dir(run, uri.path, raw=uri.raw), run


def _run_model_dir(run: Run, path: str, *, raw: str) -> Path:
    run_id = run.info.run_id
    rel = PurePosixPath(path)
    if _is_remote(run.info.artifact_uri) and ".." not in rel.parts and not rel.is_absolute():
        return _fetch(f"{run.info.artifact_uri.rstrip('/')}/{rel.as_posix()}")
    root = Path(run.info.artifact_uri)
    target = root.joinpath(*rel.parts)
    if ".." in rel.parts or rel.is_absolute() or not target.is_dir():
        models = ", ".join(run.logged_models) or "none"
        raise ModelNotFoundError(
            f"run {run_id} has no model at {path!r}; models logged in this run: {models}",
            uri=raw,
        )
    return target
