"""Where a registered version's files come from: a run, another version, or a path.

A model logged in a run is referenced where it is; so is another registered version's
model. A model directory outside the store is first copied into it (atomically, regular files
only: a symbolic link, FIFO or device in it is refused), so deleting or editing the original
never changes a registered version. Locations are recorded relative
to the store's artifact root when inside it (``Store.storage_location``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from modelpack._safe_copy import copy_model_tree
from modelpack._uri import ModelURI, model_version_for, parse_uri, resolve_run, resolve_uri
from modelpack.exceptions import ModelNotFoundError

if TYPE_CHECKING:
    from modelpack._store import Store

__all__ = ["REGISTERED_DIR", "manifest_digest_at", "storage_of", "storage_of_source"]

#: the folder under the artifact root holding models copied in from outside the store
REGISTERED_DIR = "registered"


def _copy_into_store(store: Store, source: Path) -> str:
    """Copy a model directory into the store; the rename makes it appear complete or not at all."""
    folder = store.artifact_root / REGISTERED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    key = uuid.uuid4().hex
    tmp = folder / f".{key}.copying"
    try:
        # regular files only: a link in a model from elsewhere never brings its target in
        copy_model_tree(source, tmp, action="register", skip=(".*.saving-*",))
        os.replace(tmp, folder / key)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return f"{REGISTERED_DIR}/{key}"


def manifest_digest_at(store: Store, location: str) -> str | None:
    """sha256 hex of the MLmodel a version stored at ``location`` loads, the registry's anchor
    against a directory swapped later; None for remote storage (it is fetched and verified
    into the download cache on load) or when it cannot be read."""
    from modelpack._anchor import manifest_sha256
    from modelpack._manifest import read_manifest_bytes
    from modelpack.exceptions import ManifestError

    if "://" in location:
        return None
    path = Path(location)
    if not path.is_absolute():
        path = store.artifact_root / path
    try:
        return manifest_sha256(read_manifest_bytes(path))
    except ManifestError:
        return None


def _logged_model(store: Store, parsed: ModelURI) -> Path:
    """A run's logged model, checked against the digest recorded when it was logged: a model
    swapped in the artifact store since is refused, never registered with a fresh anchor."""
    from modelpack._anchor import check_anchor, run_anchor
    from modelpack._manifest import read_manifest_bytes

    path, run = resolve_run(store, parsed)
    assert parsed.path is not None
    anchor = run_anchor(run, parsed.path)
    if anchor is not None and (path / "MLmodel").is_file():
        check_anchor(read_manifest_bytes(path), anchor)
    return path


def storage_of(store: Store, model_uri: str, runs: Store | None = None) -> tuple[str, str | None]:
    """Where the version will load from (relative to the artifact root), and its run.

    ``runs`` is the store ``runs:/`` URIs name (a client's tracking store may differ from its
    registry store); the registry ``store`` by default.
    """
    from modelpack._manifest import read_manifest

    parsed = parse_uri(model_uri)
    if parsed.kind == "models":
        existing = model_version_for(store, parsed)
        return store.storage_location(Path(existing.storage_location)), existing.run_id
    if parsed.kind == "runs":
        path = _logged_model(runs or store, parsed)
    else:
        path = resolve_uri(parsed.raw)
    if not (path / "MLmodel").is_file():
        raise ModelNotFoundError(
            f"{model_uri} is not a model directory (no MLmodel file in {path})", uri=model_uri
        )
    if parsed.kind == "runs":
        return store.storage_location(path), parsed.run_id
    run_id = read_manifest(path).run_id
    location = store.storage_location(path)
    if os.path.isabs(location):
        location = _copy_into_store(store, path)
    return location, run_id


def storage_of_source(store: Store, source: str, runs: Store) -> tuple[str, str | None]:
    """:func:`storage_of`, or the files of a version registered from the same ``source``.

    MLflow scripts register further versions with ``create_model_version(name, v1.source)``;
    that source may no longer resolve (a path copied in and since removed), but the version
    that recorded it knows where its files are.
    """
    try:
        return storage_of(store, source, runs)
    except ModelNotFoundError:
        quoted = source.replace("'", "''")
        same = store.search_model_versions(f"source_path = '{quoted}'", max_results=1)
        if not same:
            raise
        return store.storage_location(Path(same[0].storage_location)), same[0].run_id
