"""Artifacts through a tracking server's proxy: MLflow's ``mlflow-artifacts`` URIs.

A server started with ``--artifacts-destination`` gives runs artifact URIs such as
``mlflow-artifacts:/1/<run_id>/artifacts``; the files are read and written over HTTP at
``/api/2.0/mlflow-artifacts/artifacts/<path>`` (GET a file, PUT a file, DELETE a path, and
GET ``/api/2.0/mlflow-artifacts/artifacts?path=<dir>`` for a one-level listing). As in MLflow,
a URI without a host (``mlflow-artifacts:/...``) names the tracking server in effect (the
store URI, else ``MLFLOW_TRACKING_URI``); ``mlflow-artifacts://host:port/...`` names its own.

:class:`ProxyStorage` is an :class:`~modelpack._storage.ArtifactStorage`, so the download
cache (digest-keyed, verified) and directory uploads (``MLmodel`` written last) work on it as
on S3.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from modelpack._storage import ArtifactStorage, FileInfo
from modelpack._storage._base import Readable
from modelpack._store._rest_http import HttpClient, quote_path
from modelpack.exceptions import ModelNotFoundError, StoreError

__all__ = ["PROXY_ROOT", "SCHEME", "ProxyStorage", "client_for"]

SCHEME = "mlflow-artifacts"
PROXY_ROOT = "/api/2.0/mlflow-artifacts/artifacts"

_clients: dict[str, HttpClient] = {}
_lock = threading.Lock()


def client_for(base_url: str) -> HttpClient:
    """One shared client per server URL (its connections are per thread)."""
    key = base_url.rstrip("/")
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = HttpClient(key)
    return client


def _server_in_effect() -> str | None:
    from modelpack._store import get_store_uri

    for candidate in (get_store_uri(), os.environ.get("MLFLOW_TRACKING_URI", "")):
        if urlsplit(candidate).scheme in ("http", "https"):
            return candidate
    return None


def _split_path(root_uri: str) -> str:
    parts = urlsplit(root_uri)
    if parts.scheme != SCHEME:
        raise StoreError(f"not an {SCHEME} URI: {root_uri!r}")
    return parts.path.strip("/")


def _split(root_uri: str) -> tuple[str, str]:
    """``mlflow-artifacts:[//host:port]/path`` -> (server URL, path under the proxy root)."""
    parts = urlsplit(root_uri)
    if parts.scheme != SCHEME:
        raise StoreError(f"not an {SCHEME} URI: {root_uri!r}")
    path = parts.path.strip("/")
    if parts.netloc:
        current = _server_in_effect()
        scheme = "http"
        if current and urlsplit(current).netloc == parts.netloc:
            scheme = urlsplit(current).scheme
        return f"{scheme}://{parts.netloc}", path
    server = _server_in_effect()
    if server is None:
        raise StoreError(
            f"{root_uri} names the artifacts of a tracking server, but no server is in effect: "
            "set MODELPACK_STORE_URI (or MLFLOW_TRACKING_URI) to http://host:port"
        )
    return server, path


class ProxyStorage(ArtifactStorage):
    """Files under an ``mlflow-artifacts`` root, through the server's artifacts proxy."""

    def __init__(self, root_uri: str, *, client: HttpClient | None = None) -> None:
        super().__init__(root_uri)
        if client is not None and not urlsplit(root_uri).netloc:
            # the store that handed out this URI talks to its own server: none need be in effect
            self._root, self._client = _split_path(root_uri), client
            return
        server, self._root = _split(root_uri)
        self._client = client or client_for(server)

    def _path(self, path: str) -> str:
        from modelpack._storage._base import clean_path, join

        return join(self._root, clean_path(path))

    def _url(self, path: str) -> str:
        full = self._path(path)
        return f"{PROXY_ROOT}/{quote_path(full)}" if full else PROXY_ROOT

    # ------------------------------------------------------------------ primitives
    def put_file(self, local: str | os.PathLike[str], dest_path: str) -> None:
        size = os.path.getsize(local)
        with open(local, "rb") as f:
            self._put(f, dest_path, size)

    def put_stream(
        self, fileobj: Readable, dest_path: str, *, size_hint: int | None = None
    ) -> None:
        # spooled to disk first: the length must be known, and a retry must re-send it all
        with tempfile.TemporaryFile() as spool:
            while chunk := fileobj.read(1 << 20):
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            self._put(spool, dest_path, size)

    def _put(self, body: IO[bytes], dest_path: str, size: int) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        what = f"uploading {self.uri_for(dest_path)}"
        with self._client.request(
            "PUT", self._url(dest_path), body=body, headers=headers, what=what
        ):
            pass

    def get_file(self, path: str, local: str | os.PathLike[str]) -> None:
        target = Path(local)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".modelpack-tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    self._client.download(self._url(path), out)
                except ModelNotFoundError:
                    raise self._missing(path) from None
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self, prefix: str = "") -> list[FileInfo]:
        from modelpack._storage._base import clean_path, join

        rel = clean_path(prefix)
        try:
            answer = self._client.call("GET", PROXY_ROOT, {"path": self._path(rel)})
        except ModelNotFoundError:
            return []
        found = []
        for entry in answer.get("files", []):
            name = clean_path(str(entry.get("path", "")))
            if not name:
                continue
            size = entry.get("file_size")
            is_dir = bool(entry.get("is_dir", False))
            found.append(FileInfo(join(rel, name), is_dir, None if is_dir else int(size or 0)))
        # listing a file answers the file itself: a file has no entries below it
        if (
            len(found) == 1
            and not found[0].is_dir
            and rel
            and found[0].path == join(rel, posixpath.basename(rel))
        ):
            return []
        return sorted(found, key=lambda f: f.path)

    def _entry(self, path: str) -> FileInfo | None:
        from modelpack._storage._base import clean_path

        rel = clean_path(path)
        if not rel:
            return FileInfo("", True, None)
        parent = posixpath.dirname(rel)
        return next((f for f in self.list(parent) if f.path == rel), None)

    def walk(self, prefix: str = "") -> Iterator[FileInfo]:
        entry = self._entry(prefix)
        if entry is None:
            return
        if not entry.is_dir:
            yield entry
            return
        for info in self.list(prefix):
            if info.is_dir:
                yield from self.walk(info.path)
            else:
                yield info

    def exists(self, path: str) -> bool:
        entry = self._entry(path)
        if entry is None:
            return False
        return not entry.is_dir or next(self.walk(path), None) is not None

    def delete_prefix(self, prefix: str) -> None:
        try:
            with self._client.request("DELETE", self._url(prefix)):
                pass
        except ModelNotFoundError:
            pass

    def open_read(self, path: str) -> IO[bytes]:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
        try:
            self._client.download(self._url(path), spool)
        except ModelNotFoundError:
            spool.close()
            raise self._missing(path) from None
        spool.seek(0)
        return spool
