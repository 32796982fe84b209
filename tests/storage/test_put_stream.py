"""Streamed uploads (``put_stream``): read as the body comes, in parts on S3 with bounded
memory, and all or nothing on every backend (a body that fails half-way leaves no file, and
an old file at the path unchanged)."""

from __future__ import annotations

import hashlib
import os
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelpack._storage import ArtifactStorage, FsspecStorage, LocalStorage, S3Storage
from modelpack.exceptions import StoreError

from .conftest import MotoLog

_MIB = 1 << 20


class Trickle:
    """A non-seekable body of ``size`` bytes that answers each read with at most a random
    few KiB (as a network does), and raises after ``fail_after`` bytes if given."""

    def __init__(self, size: int, *, fail_after: int | None = None, seed: int = 0) -> None:
        self.size = size
        self.fail_after = fail_after
        self.sent = 0
        self.digest = hashlib.sha256()
        self._random = random.Random(seed)
        self._block = os.urandom(_MIB)

    def read(self, size: int = -1, /) -> bytes:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise ConnectionResetError("the client went away")
        left = self.size - self.sent
        want = left if size < 0 else min(size, left)
        want = min(want, self._random.randint(1, 256 * 1024))
        start = self.sent % _MIB
        data = (self._block[start:] + self._block[:start])[:want]
        self.sent += len(data)
        self.digest.update(data)
        return data


def _read_back(storage: ArtifactStorage, path: str) -> bytes:
    with storage.open_read(path) as f:
        return f.read()


def _digest(storage: ArtifactStorage, path: str) -> str:
    digest = hashlib.sha256()
    with storage.open_read(path) as f:
        while block := f.read(_MIB):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(params=["local", "s3", "fsspec-local"])
def atomic_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStorage]:
    """The backends whose streamed writes are all or nothing (fsspec's memory file system,
    a test double, shows a file as soon as it is opened)."""
    if request.param == "local":
        yield LocalStorage(str(tmp_path / "root"))
    elif request.param == "s3":
        server = request.getfixturevalue("s3_env")
        yield S3Storage(
            f"s3://{server.create_bucket()}/root",
            multipart_threshold=5 * _MIB,
            multipart_chunksize=5 * _MIB,
        )
    else:
        yield FsspecStorage(f"file://{tmp_path / 'root'}")


def test_a_body_that_fails_half_way_leaves_the_old_file(
    atomic_storage: ArtifactStorage, tmp_path: Path
) -> None:
    atomic_storage.put_stream(Trickle(1000), "a/old.bin")
    old = _read_back(atomic_storage, "a/old.bin")
    with pytest.raises(ConnectionResetError):
        atomic_storage.put_stream(Trickle(12 * _MIB, fail_after=11 * _MIB), "a/old.bin")
    with pytest.raises(ConnectionResetError):
        atomic_storage.put_stream(Trickle(12 * _MIB, fail_after=7 * _MIB), "a/new.bin")
    assert _read_back(atomic_storage, "a/old.bin") == old
    assert not atomic_storage.exists("a/new.bin")
    assert [info.path for info in atomic_storage.list("a")] == ["a/old.bin"]
    assert [info.path for info in atomic_storage.walk("")] == ["a/old.bin"]


def test_a_streamed_body_arrives_whole(atomic_storage: ArtifactStorage) -> None:
    body = Trickle(11 * _MIB + 12345, seed=1)
    atomic_storage.put_stream(body, "big.bin", size_hint=body.size)
    assert _digest(atomic_storage, "big.bin") == body.digest.hexdigest()
    assert [i.file_size for i in atomic_storage.list("")] == [body.size]


@pytest.fixture
def s3_storage(s3_env: Any) -> S3Storage:
    return S3Storage(
        f"s3://{s3_env.create_bucket()}/root",
        multipart_threshold=5 * _MIB,
        multipart_chunksize=5 * _MIB,
        stream_parts_in_flight=2,
    )


def _pending_uploads(storage: S3Storage) -> list[Any]:
    answer = storage._client.list_multipart_uploads(Bucket=storage.bucket)
    return list(answer.get("Uploads", []))


@pytest.mark.slow
def test_s3_streams_in_parts_with_bounded_memory(s3_storage: S3Storage, moto_log: MotoLog) -> None:
    size = 40 * _MIB
    body = Trickle(size, seed=2)
    tracemalloc.start()
    try:
        s3_storage.put_stream(body, "big/weights.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _digest(s3_storage, "big/weights.bin") == body.digest.hexdigest()
    parts = [t for t in moto_log.requests("PUT", s3_storage.bucket) if "partNumber=" in t]
    assert len(parts) == size // (5 * _MIB)
    # two parts in flight, one being read, and the copies a part makes as it is joined and
    # signed: a few parts' worth, never the body's size
    assert peak < 8 * 5 * _MIB, f"peak {peak / _MIB:.1f} MiB"
    assert not _pending_uploads(s3_storage)


def test_s3_small_body_is_one_put(s3_storage: S3Storage, moto_log: MotoLog) -> None:
    s3_storage.put_stream(Trickle(3 * _MIB, seed=3), "small.bin")
    puts = moto_log.requests("PUT", s3_storage.bucket)
    assert puts == [f"/{s3_storage.bucket}/root/small.bin"]
    assert [i.file_size for i in s3_storage.list("")] == [3 * _MIB]


def test_s3_failure_of_the_body_aborts_the_multipart_upload(s3_storage: S3Storage) -> None:
    with pytest.raises(ConnectionResetError):
        s3_storage.put_stream(Trickle(30 * _MIB, fail_after=17 * _MIB), "cut.bin")
    assert not s3_storage.exists("cut.bin")
    assert not _pending_uploads(s3_storage)


def test_s3_error_on_a_part_aborts_and_names_the_bucket(
    s3_storage: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_storage.put_stream(Trickle(100, seed=4), "kept.bin")
    kept = _read_back(s3_storage, "kept.bin")
    real = s3_storage._client.upload_part

    def flaky(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 3:
            kwargs["UploadId"] = "no-such-upload"  # S3 answers NoSuchUpload
        return real(**kwargs)

    monkeypatch.setattr(s3_storage._client, "upload_part", flaky)
    with pytest.raises(StoreError) as caught:
        s3_storage.put_stream(Trickle(30 * _MIB, seed=5), "kept.bin")
    assert s3_storage.bucket in str(caught.value)
    assert _read_back(s3_storage, "kept.bin") == kept
    assert not _pending_uploads(s3_storage)


def test_s3_part_size_grows_for_a_body_over_ten_thousand_parts(
    s3_storage: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = s3_storage._client.upload_part

    def record(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["Body"]))
        return real(**kwargs)

    monkeypatch.setattr(s3_storage._client, "upload_part", record)
    # a hint of 100,000 parts' worth: parts ten times the configured size
    hint = 10_000 * 50 * _MIB
    s3_storage.put_stream(Trickle(60 * _MIB, seed=6), "hinted.bin", size_hint=hint)
    assert sizes == [50 * _MIB, 10 * _MIB]
