"""Artifact storage on S3 or an S3-compatible server (MinIO, Ceph, moto), through boto3.

* Endpoint: ``MODELPACK_S3_ENDPOINT_URL``, else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``,
  else what botocore finds (the profile's ``endpoint_url``, then AWS itself).
* Credentials and region: the standard AWS chain (environment, ``AWS_PROFILE`` and
  ``~/.aws``, instance or container roles); modelpack reads none of them itself.
* Transfers go through boto3's transfer manager: a file of ``multipart_threshold`` bytes or
  more is uploaded in ``multipart_chunksize`` parts and downloaded as ranged GETs, up to
  ``max_concurrency`` requests at a time, read from and written to disk chunk by chunk, so
  memory stays flat at any size (about one part per request in flight, at most). Eight
  requests at a time: the threads mostly wait on the network, so two cores carry them, and
  they keep a distant endpoint busy; 16 MiB parts keep a 1 GB file to 64 requests, and a file
  under 16 MiB goes in one request. A stream (:meth:`S3Storage.put_stream`, the team server's
  proxied uploads) goes the same way, read a part at a time as it arrives, with at most
  ``stream_parts_in_flight`` parts in memory.
* Every failure is a :class:`~modelpack.exceptions.StoreError` that names the endpoint and
  bucket (a missing file a :class:`~modelpack.exceptions.ModelNotFoundError`). The botocore
  exception is not chained: its chain is urllib3's internals, and the message says it all.

S3 has no rename, so a directory upload publishes itself by writing ``MLmodel`` last (see
:meth:`ArtifactStorage.put_dir <modelpack._storage.ArtifactStorage.put_dir>`). A multipart
upload that is killed leaves invisible parts behind; a bucket lifecycle rule
(``AbortIncompleteMultipartUpload``) removes them.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn, cast

from modelpack._optional import require
from modelpack._storage._base import ArtifactStorage, FileInfo, Readable, clean_path, join
from modelpack.exceptions import StoreError

__all__ = ["S3Storage", "endpoint_url"]

_MIB = 1 << 20
_MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
_ENDPOINT_VARS = ("MODELPACK_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# what a boto3 session resolves once and keeps: a new session when one of these changes
_SESSION_VARS = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
_SESSIONS: dict[tuple[str | None, ...], Any] = {}
_LOCK = threading.Lock()
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
_DENIED_CODES = {
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}


def endpoint_url() -> str | None:
    """The S3 endpoint modelpack is told to use, or None for botocore's own choice."""
    for name in _ENDPOINT_VARS:
        if value := os.environ.get(name, "").strip():
            return value
    return None


def _client(max_pool: int) -> Any:
    boto3 = require("boto3", "s3", purpose="s3:// artifact storage")
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=max_pool,
    )
    key = tuple(os.environ.get(name) for name in _SESSION_VARS)
    with _LOCK:  # boto3 sessions are not thread-safe; clients made from one are
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = boto3.session.Session()
        return session.client("s3", endpoint_url=endpoint_url(), config=config)


def _read_full(fileobj: Readable, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the stream (``read`` may return less)."""
    first = fileobj.read(size)
    if len(first) == size or not first:
        return first
    chunks = [first]
    have = len(first)
    while have < size and (chunk := fileobj.read(size - have)):
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


class _FullReads:
    """A body whose ``read(n)`` returns ``n`` bytes until the end: s3transfer reads each part
    of a stream with one ``read`` and takes a short answer for the end of the stream."""

    def __init__(self, source: Readable) -> None:
        self._source = source

    def read(self, size: int = -1) -> bytes:
        if size >= 0:
            return _read_full(self._source, size)
        chunks = []
        while chunk := self._source.read(_MIB):
            chunks.append(chunk)
        return b"".join(chunks)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    rest = uri.partition("://")[2] if "://" in uri else uri
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StoreError(f"invalid S3 URI {uri!r}: expected s3://<bucket>/<prefix>")
    return bucket, clean_path(prefix, what="S3 prefix")


class S3Storage(ArtifactStorage):
    """Files under ``s3://bucket/prefix``.

    Parameters
    ----------
    root_uri : str
        ``s3://bucket`` or ``s3://bucket/prefix``.
    multipart_threshold, multipart_chunksize : int
        Files this large or larger go in parts of ``multipart_chunksize`` bytes (both ways).
    max_concurrency : int
        Requests at a time within one transfer, and files at a time in a directory transfer.
    stream_parts_in_flight : int
        Parts of a streamed upload (:meth:`put_stream`) held in memory at a time, read and
        sending or waiting to be sent; with the part size, the bound on its memory.
    """

    def __init__(
        self,
        root_uri: str,
        *,
        multipart_threshold: int = 16 * _MIB,
        multipart_chunksize: int = 16 * _MIB,
        max_concurrency: int = 8,
        stream_parts_in_flight: int = 4,
    ) -> None:
        super().__init__(root_uri)
        self.bucket, self.prefix = split_s3_uri(root_uri)
        # the transfer manager's submission threads (5) make requests too (HEAD before a GET)
        self._client = _client(max_pool=max_concurrency + 6)
        self.endpoint: str = self._client.meta.endpoint_url
        transfer = require("boto3.s3.transfer", "s3", purpose="s3:// artifact storage")
        self._transfer = transfer
        self._config = transfer.TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
            use_threads=True,
            preferred_transfer_client="classic",
        )
        # s3transfer's own setting, which boto3's constructor does not take
        self._config.max_in_memory_upload_chunks = max(1, stream_parts_in_flight)

    # ------------------------------------------------------------------ helpers
    def _key(self, path: str) -> str:
        return join(self.prefix, clean_path(path))

    def _rel(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def _manager(self) -> Any:
        return self._transfer.create_transfer_manager(self._client, self._config)

    @contextlib.contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        from botocore import exceptions as bc

        try:
            yield
        except bc.ClientError as e:
            self._raise_client_error(e, path)
        except bc.NoCredentialsError:
            raise StoreError(
                f"no AWS credentials found for S3 at {self.endpoint} (bucket {self.bucket!r}): "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            ) from None
        except (bc.EndpointConnectionError, bc.ConnectTimeoutError) as e:
            why = (
                "timed out" if isinstance(e, bc.ConnectTimeoutError) else "refused or no such host"
            )
            raise StoreError(
                f"cannot reach the S3 endpoint {self.endpoint} (bucket {self.bucket!r}): "
                f"connection {why}; start the S3 server, or set MODELPACK_S3_ENDPOINT_URL "
                "(or AWS_ENDPOINT_URL) to its address"
            ) from None
        except bc.BotoCoreError as e:
            raise StoreError(
                f"S3 at {self.endpoint} (bucket {self.bucket!r}) failed on "
                f"{self.uri_for(path)}: {e}"
            ) from None

    def _raise_client_error(self, e: Any, path: str) -> NoReturn:
        error = e.response.get("Error", {})
        code = str(error.get("Code", ""))
        # a HEAD answer has no body, so its 404 does not say whether the key or the bucket
        # is missing: ask about the bucket (only on this error path)
        if code == "NoSuchBucket" or (code in _MISSING_CODES and not self._bucket_exists()):
            raise StoreError(
                f"the S3 bucket {self.bucket!r} does not exist at {self.endpoint}: create it "
                f"(aws s3 mb s3://{self.bucket}) or point the artifact root at an existing bucket"
            ) from None
        if code in _MISSING_CODES:
            raise self._missing(path) from None
        if code in _DENIED_CODES:
            raise StoreError(
                f"S3 at {self.endpoint} refused access to bucket {self.bucket!r} ({code}): "
                "check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or "
                "AWS_PROFILE) and the bucket's policy"
            ) from None
        message = error.get("Message") or "no message"
        raise StoreError(
            f"S3 at {self.endpoint} (bucket {self.bucket!r}) failed on {self.uri_for(path)}: "
            f"{code}: {message}"
        ) from None

    def _bucket_exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            return str(e.response.get("Error", {}).get("Code")) not in {"404", "NoSuchBucket"}
        return True

    # ------------------------------------------------------------------ writing
    def put_file(self, local: str | os.PathLike[str], dest_path: str) -> None:
        self._upload([(Path(local), dest_path)])

    def put_files(self, files: Sequence[tuple[Path, str]]) -> None:
        self._upload(files)

    def _upload(self, files: Sequence[tuple[Path, str]]) -> None:
        for local, _ in files:
            if not Path(local).is_file():
                raise FileNotFoundError(f"cannot upload {local}: no such file")
        if not files:
            return
        with self._errors(files[0][1]), self._manager() as manager:
            futures = [
                manager.upload(str(local), self.bucket, self._key(dest)) for local, dest in files
            ]
            for future in futures:
                future.result()  # the first failure cancels the rest as the manager exits

    def put_stream(
        self, fileobj: Readable, dest_path: str, *, size_hint: int | None = None
    ) -> None:
        # s3transfer reads a stream a part at a time (a body under the threshold is one PUT)
        # and holds at most max_in_memory_upload_chunks parts; any failure, the stream's own
        # included, aborts the multipart upload, so no object appears and an old one stays.
        config = self._config
        if size_hint is not None and size_hint > config.multipart_chunksize * _MAX_PARTS:
            config = copy.copy(config)  # S3 takes at most 10,000 parts: larger ones
            config.multipart_chunksize = -(-size_hint // _MAX_PARTS)
        manager = self._transfer.create_transfer_manager(self._client, config)
        with self._errors(dest_path), manager:
            manager.upload(_FullReads(fileobj), self.bucket, self._key(dest_path)).result()

    def delete_prefix(self, prefix: str) -> None:
        key = self._key(prefix)
        keys = [key] if key else []
        with self._errors(prefix):
            keys += [self._key(info.path) for info in self.walk_under(prefix)]
            for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1000 keys
                batch = [{"Key": k} for k in keys[start : start + 1000]]
                self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )

    # ------------------------------------------------------------------ reading
    def get_file(self, path: str, local: str | os.PathLike[str]) -> None:
        self._download([(path, Path(local))])

    def get_files(self, files: Sequence[tuple[str, Path]]) -> None:
        self._download(files)

    def _download(self, files: Sequence[tuple[str, Path]]) -> None:
        if not files:
            return
        for _, local in files:
            local.parent.mkdir(parents=True, exist_ok=True)
        # s3transfer writes each file under a temporary name and renames it when complete
        with self._manager() as manager:
            futures = [
                (path, manager.download(self.bucket, self._key(path), str(local)))
                for path, local in files
            ]
            for path, future in futures:
                with self._errors(path):
                    future.result()

    def open_read(self, path: str) -> IO[bytes]:
        with self._errors(path):
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(path))
        return cast("IO[bytes]", answer["Body"])  # botocore's StreamingBody, an io.IOBase

    def _pages(self, prefix_key: str, *, delimiter: bool) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        extra = {"Delimiter": "/"} if delimiter else {}
        yield from paginator.paginate(Bucket=self.bucket, Prefix=prefix_key, **extra)

    def list(self, prefix: str = "") -> list[FileInfo]:
        key = self._key(prefix)
        under = f"{key}/" if key else ""
        infos: list[FileInfo] = []
        with self._errors(prefix):
            for page in self._pages(under, delimiter=True):
                for common in page.get("CommonPrefixes", []):
                    infos.append(FileInfo(self._rel(common["Prefix"].rstrip("/")), True, None))
                for item in page.get("Contents", []):
                    if item["Key"] != under:  # a console's zero-byte "folder" object
                        infos.append(FileInfo(self._rel(item["Key"]), False, int(item["Size"])))
        return sorted(infos, key=lambda i: i.path)

    def walk_under(self, prefix: str) -> Iterator[FileInfo]:
        """Every file strictly under ``prefix`` (not ``prefix`` itself)."""
        key = self._key(prefix)
        for page in self._pages(f"{key}/" if key else "", delimiter=False):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    yield FileInfo(self._rel(item["Key"]), False, int(item["Size"]))

    def walk(self, prefix: str = "") -> Iterator[FileInfo]:
        with self._errors(prefix):
            found = False
            for info in self.walk_under(prefix):
                found = True
                yield info
            if not found and self._key(prefix):
                size = self._size(prefix)
                if size is not None:
                    yield FileInfo(clean_path(prefix), False, size)

    def _size(self, path: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(path))
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code")) in _MISSING_CODES:
                return None
            raise
        return int(head["ContentLength"])

    def exists(self, path: str) -> bool:
        key = self._key(path)
        with self._errors(path):
            if key and self._size(path) is not None:
                return True
            under = f"{key}/" if key else ""
            answer = self._client.list_objects_v2(Bucket=self.bucket, Prefix=under, MaxKeys=1)
            return bool(answer.get("KeyCount", 0))
