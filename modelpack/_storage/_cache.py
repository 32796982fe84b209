"""Remote model directories as local ones: a download cache keyed by the manifest's digest.

``fetch_model("s3://bucket/path/to/model")`` reads the remote ``MLmodel`` first (a few KB, on
every call: the URI may name a different model by now). A modelpack manifest lists the
SHA-256 digest of every other file, so the digest of ``MLmodel`` itself names the whole
directory: the cache entry is ``<cache>/models/<sha256 of MLmodel>/``, where ``<cache>`` is
``MODELPACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/modelpack``, else ``~/.cache/modelpack``.

* Every use verifies the entry: ``MLmodel`` against the key and every listed file against its
  digest. An entry that fails (a file edited, truncated or removed) is downloaded again and
  replaced, never used.
* A download goes into a temporary folder beside the entries, is verified, and is renamed into
  place; two processes loading the same model at once each download, one rename wins, and
  the other uses the winner's entry (a rename is atomic, so nobody sees half an entry).
* Only the files the manifest lists are downloaded, so nothing unlisted beside the model ever
  reaches the cache.
* A directory without digests (written by MLflow) cannot be verified, so it is not cached: it
  is downloaded whole on every call into a fresh temporary folder, removed at exit.
* Entries are never evicted automatically; deleting ``<cache>/models`` (or any entry) at any
  time is safe.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from modelpack._integrity import file_digest, find_problems
from modelpack._manifest import MLMODEL_FILE, Manifest, read_manifest
from modelpack._storage._base import TMP_PREFIX, ArtifactStorage, clean_path
from modelpack._storage._factory import storage_for
from modelpack.exceptions import IntegrityError, ModelNotFoundError

__all__ = ["fetch_model", "models_cache_dir"]

_STALE_SECONDS = 24 * 3600  # a temporary folder this old belongs to a killed download


def models_cache_dir() -> Path:
    """``<cache>/models``: where verified copies of remote models are kept."""
    explicit = os.environ.get("MODELPACK_CACHE_DIR")
    if explicit:
        base = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = Path(xdg) / "modelpack"
    return base / "models"


def fetch_model(uri: str) -> Path:
    """A local directory with the model at a remote ``uri``, verified against its digests.

    Raises
    ------
    ModelNotFoundError
        When ``uri`` holds no ``MLmodel`` (nothing there, not a model, or an unfinished upload).
    IntegrityError
        When a downloaded file does not match the digest its ``MLmodel`` records.
    StoreError
        When the storage cannot be reached (the message names the endpoint and bucket).
    """
    storage = storage_for(uri)
    root = models_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root)
    tmp = root / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        manifest = _get_manifest(storage, tmp, uri)
        if not manifest.written_by_modelpack:
            return _fresh_copy(storage, tmp, uri)
        key = file_digest(tmp / MLMODEL_FILE).partition(":")[2]
        entry = root / key
        if _intact(entry, key, manifest):
            return entry
        _download(storage, manifest, tmp, uri)
        return _publish(tmp, entry, key, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _get_manifest(storage: ArtifactStorage, tmp: Path, uri: str) -> Manifest:
    try:
        storage.get_file(MLMODEL_FILE, tmp / MLMODEL_FILE)
    except ModelNotFoundError:
        what = (
            "it holds files but no MLmodel: not a model directory, or an upload that did not finish"
            if storage.exists("")
            else "nothing is there"
        )
        raise ModelNotFoundError(f"no model at {uri}: {what}", uri=uri) from None
    return read_manifest(tmp)


def _intact(entry: Path, key: str, manifest: Manifest) -> bool:
    """True if the cache entry is exactly the model ``manifest`` describes."""
    marker = entry / MLMODEL_FILE
    if not marker.is_file() or file_digest(marker) != f"sha256:{key}":
        return False
    # files beside the listed ones are tolerated, as by modelpack.verify: nothing loads them
    return not [p for p in find_problems(entry, manifest) if p.kind != "unlisted"]


def _download(storage: ArtifactStorage, manifest: Manifest, tmp: Path, uri: str) -> None:
    pairs = []
    for rel in sorted(manifest.files):
        clean = clean_path(rel, what="file listed in MLmodel")
        pairs.append((clean, tmp.joinpath(*clean.split("/"))))
    try:
        storage.get_files(pairs)
    except ModelNotFoundError as e:
        raise IntegrityError(
            f"the model at {uri} is incomplete: {e.uri} is listed in its MLmodel but missing; "
            "upload the model again",
            path=e.uri,
        ) from None
    problems = [p for p in find_problems(tmp, manifest) if p.kind != "unlisted"]
    if problems:
        raise IntegrityError(
            f"the model downloaded from {uri} does not match its MLmodel: {problems[0]}. The "
            "remote copy was changed after it was saved, or replaced during the download; "
            "try again, or upload the model again",
            path=problems[0].path,
        )


def _publish(tmp: Path, entry: Path, key: str, manifest: Manifest) -> Path:
    """Rename the verified download into place; a concurrent winner's entry is as good."""
    for _ in range(3):
        try:
            os.rename(tmp, entry)
            return entry
        except OSError:
            if _intact(entry, key, manifest):
                return entry  # another process published the same model first
            # a damaged entry: move it aside (a reader holding its files keeps them), retry
            aside = entry.with_name(f"{TMP_PREFIX}old-{uuid.uuid4().hex}")
            with contextlib.suppress(FileNotFoundError):
                os.rename(entry, aside)
            shutil.rmtree(aside, ignore_errors=True)
    raise IntegrityError(f"could not place the downloaded model in the cache at {entry}")


def _fresh_copy(storage: ArtifactStorage, tmp: Path, uri: str) -> Path:
    """A directory without digests: downloaded whole into a folder removed at exit."""
    target = Path(tempfile.mkdtemp(prefix="modelpack-model-"))
    atexit.register(shutil.rmtree, target, True)
    storage.get_dir("", target)
    # the manifest read first decides what is loaded, even if MLmodel changed meanwhile
    shutil.copyfile(tmp / MLMODEL_FILE, target / MLMODEL_FILE)
    return target


def _remove_stale(root: Path) -> None:
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if entry.name.startswith(TMP_PREFIX):
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > _STALE_SECONDS:
                        shutil.rmtree(entry.path, ignore_errors=True)
