"""S3 specifics, against moto's server over HTTP: multipart transfers with flat client memory,
clear errors for a missing bucket or an unreachable endpoint, the endpoint variables, and an
upload killed half-way that leaves no model."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from _services import free_port

from modelpack._storage import S3Storage, fetch_model, storage_for
from modelpack.exceptions import ModelNotFoundError, StoreError

from .conftest import MotoLog

_MIB = 1 << 20


def _random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size // _MIB):
            block = os.urandom(_MIB)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_MIB):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_large_file_goes_in_parts_with_flat_memory(
    bucket: str, tmp_path: Path, moto_log: MotoLog
) -> None:
    size = 64 * _MIB
    source = tmp_path / "weights.bin"
    expected = _random_file(source, size)
    storage = S3Storage(
        f"s3://{bucket}/models", multipart_threshold=8 * _MIB, multipart_chunksize=8 * _MIB
    )
    tracemalloc.start()
    try:
        storage.put_file(source, "big/weights.bin")
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        storage.get_file("big/weights.bin", tmp_path / "copy.bin")
        download_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        streamed = hashlib.sha256()
        with storage.open_read("big/weights.bin") as f:
            while block := f.read(_MIB):
                streamed.update(block)
        stream_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert _sha256(tmp_path / "copy.bin") == expected == streamed.hexdigest()
    # memory is bounded by the part size and the concurrency, never by the file size
    assert upload_peak < size / 3, f"upload peak {upload_peak / _MIB:.1f} MiB"
    assert download_peak < size / 3, f"download peak {download_peak / _MIB:.1f} MiB"
    assert stream_peak < 4 * _MIB, f"streamed read peak {stream_peak / _MIB:.1f} MiB"
    parts = [t for t in moto_log.requests("PUT", bucket) if "partNumber=" in t]
    assert len(parts) == size // (8 * _MIB)
    ranged_gets = [t for t in moto_log.requests("GET", bucket) if "weights.bin" in t]
    assert len(ranged_gets) > 1  # the download came in ranges too
    assert [i.file_size for i in storage.list("big")] == [size]


def _assert_names_bucket_and_endpoint(error: StoreError, bucket: str, endpoint: str) -> None:
    message = str(error)
    assert bucket in message and endpoint in message
    assert "botocore" not in message and "Traceback" not in message
    assert error.__cause__ is None and error.__suppress_context__


def test_missing_bucket_is_one_clear_error(s3_env: Any, tmp_path: Path) -> None:
    storage = storage_for("s3://no-such-bucket-here/models")
    source = tmp_path / "f.txt"
    source.write_text("x")
    calls = [
        lambda: storage.list(""),
        lambda: storage.put_file(source, "f.txt"),
        lambda: storage.get_file("f.txt", tmp_path / "out"),
        lambda: storage.open_read("f.txt"),
        lambda: storage.exists("f"),
        lambda: fetch_model("s3://no-such-bucket-here/models/m"),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="bucket 'no-such-bucket-here' does not exist") as e:
            call()
        _assert_names_bucket_and_endpoint(e.value, "no-such-bucket-here", s3_env.endpoint_url)
        assert "aws s3 mb s3://no-such-bucket-here" in str(e.value)


def test_unreachable_endpoint_is_one_clear_error(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    source = tmp_path / "f.txt"
    source.write_text("x")
    storage = storage_for(f"s3://{bucket}/models")
    for call in (lambda: storage.list(""), lambda: storage.put_file(source, "f.txt")):
        with pytest.raises(StoreError, match="cannot reach the S3 endpoint") as e:
            call()
        _assert_names_bucket_and_endpoint(e.value, bucket, dead)
    with pytest.raises(StoreError, match="cannot reach the S3 endpoint"):
        fetch_model(f"s3://{bucket}/models/m")


def test_modelpack_endpoint_variable_wins(
    bucket: str, s3_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MODELPACK_S3_ENDPOINT_URL", s3_env.endpoint_url)
    storage = storage_for(f"s3://{bucket}")
    assert isinstance(storage, S3Storage) and storage.endpoint == s3_env.endpoint_url
    source = tmp_path / "f.txt"
    source.write_text("x")
    storage.put_file(source, "f.txt")
    assert storage.exists("f.txt")


def test_bad_credentials_name_the_bucket(
    bucket: str, s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StoreError, match="no AWS credentials found") as e:
        storage_for(f"s3://{bucket}").list("")
    _assert_names_bucket_and_endpoint(e.value, bucket, s3_env.endpoint_url)


_UPLOADER = textwrap.dedent(
    """
    import sys
    from modelpack._storage import S3Storage
    storage = S3Storage(sys.argv[1], multipart_threshold=5 << 20, multipart_chunksize=5 << 20,
                        max_concurrency=1)
    storage.put_dir(sys.argv[2], "model")
    print("finished", flush=True)
    """
)


@pytest.mark.slow
def test_upload_killed_half_way_leaves_no_model(
    bucket: str,
    s3_env: Any,
    tmp_path: Path,
    taxi_model_dir: Path,
    moto_log: MotoLog,
    cache: Path,
) -> None:
    _random_file(taxi_model_dir / "weights.bin", 48 * _MIB)  # ten parts, one at a time
    proc = subprocess.Popen(
        [sys.executable, "-c", _UPLOADER, f"s3://{bucket}/run", str(taxi_model_dir)],
        stdout=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any("partNumber=2" in t for t in moto_log.requests("PUT", bucket)):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the upload ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    storage = storage_for(f"s3://{bucket}/run")
    assert storage.exists("model")  # the small files went up first ...
    assert not storage.exists("model/MLmodel")  # ... but the model was never published
    completed = [t for t in moto_log.requests("POST", bucket) if "weights.bin?uploadId=" in t]
    if not completed:  # killed before the last part: the unfinished upload is invisible
        assert not storage.exists("model/weights.bin")
    with pytest.raises(ModelNotFoundError, match="no model at .*upload that did not finish"):
        fetch_model(f"s3://{bucket}/run/model")
    import modelpack

    with pytest.raises(ModelNotFoundError, match="no model"):
        modelpack.load_model(f"s3://{bucket}/run/model")
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.parametrize("fault", ["missing-bucket", "unreachable"])
def test_registering_from_s3_that_fails_registers_nothing(
    fault: str, bucket: str, monkeypatch: pytest.MonkeyPatch, s3_env: Any
) -> None:
    import modelpack

    if fault == "unreachable":
        endpoint = f"http://127.0.0.1:{free_port()}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        where = bucket
    else:
        endpoint, where = s3_env.endpoint_url, "no-such-bucket-here"
    with pytest.raises(StoreError) as e:
        modelpack.register_model(f"s3://{where}/models/m", "from-s3")
    _assert_names_bucket_and_endpoint(e.value, where, endpoint)
    with pytest.raises(ModelNotFoundError):
        modelpack.get_registered_model("from-s3")
