"""The artifact proxy stores an upload as it arrives, all or nothing: a whole body lands
intact (a folder or S3 behind the server), and a body cut short, a client killed half-way
or a body over the limit leave nothing at the path and an old file unchanged."""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Running, call

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
_MIB = 1 << 20


def _body(size: int) -> bytes:
    block = os.urandom(_MIB)
    return b"".join(block[i % 97 :] + block[: i % 97] for i in range(size // _MIB))


def _put(url: str, path: str, data: bytes) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120, blocksize=_MIB)
    try:
        conn.request("PUT", f"{ARTIFACTS}/{path}", body=data)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _get(url: str, path: str) -> bytes:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request("GET", f"{ARTIFACTS}/{path}")
        response = conn.getresponse()
        assert response.status == 200, response.read()
        return response.read()
    finally:
        conn.close()


def _cut_short(url: str, path: str, *, declared: int, sent: int) -> None:
    """A PUT that announces ``declared`` bytes, sends ``sent`` and closes the connection."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            f"PUT {ARTIFACTS}/{path} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
        )
        sock.sendall(os.urandom(sent))
        time.sleep(0.5)  # the server has begun storing it


_KILLED = textwrap.dedent(
    """
    import socket, sys, time
    from urllib.parse import urlsplit
    url, path, ready = sys.argv[1:4]
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall(f"PUT {path} HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: {64 << 20}\\r\\n\\r\\n"
                 .encode())
    sock.sendall(b"k" * (24 << 20))  # more than a part: the upload is under way
    open(ready, "w").write("sent")
    time.sleep(300)
    """
)


def _killed_mid_upload(url: str, path: str, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    with open(tmp_path / "client.log", "wb") as log:
        client = subprocess.Popen(
            [sys.executable, "-c", _KILLED, url, f"{ARTIFACTS}/{path}", str(ready)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not (ready.exists() and ready.read_text()):
            assert client.poll() is None, (tmp_path / "client.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait(30)


def _eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


# ------------------------------------------------------------------------ a folder behind it
def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_large_upload_arrives_whole(server: Running, tmp_path: Path) -> None:
    data = _body(24 * _MIB)
    assert _put(server.url, "1/big/weights.bin", data) == 200
    assert hashlib.sha256(_get(server.url, "1/big/weights.bin")).digest() == (
        hashlib.sha256(data).digest()
    )
    assert _files(tmp_path / "artifacts") == ["1/big/weights.bin"]


@pytest.mark.parametrize("how", ["cut-short", "client-killed"])
def test_an_unfinished_upload_leaves_the_old_file(
    server: Running, tmp_path: Path, how: str
) -> None:
    root = tmp_path / "artifacts"
    assert _put(server.url, "1/a/old.bin", b"old contents") == 200
    if how == "cut-short":
        _cut_short(server.url, "1/a/old.bin", declared=8 * _MIB, sent=3 * _MIB)
        _cut_short(server.url, "1/a/new.bin", declared=8 * _MIB, sent=3 * _MIB)
    else:
        _killed_mid_upload(server.url, "1/a/old.bin", tmp_path)
        _killed_mid_upload(server.url, "1/a/new.bin", tmp_path)
    _eventually(lambda: _files(root) == ["1/a/old.bin"], f"left behind: {_files(root)}")
    assert (root / "1/a/old.bin").read_bytes() == b"old contents"
    assert call(f"{server.url}{ARTIFACTS}?path=1/a")[1] == {
        "files": [{"path": "old.bin", "is_dir": False, "file_size": 12}]
    }
    log = server.log.read_text()
    assert log.count("abandoned: the client disconnected") == 2 and "Traceback" not in log


# ---------------------------------------------------------------------------- S3 behind it
@pytest.fixture
def s3_server(start_server: Callable[..., Running], s3_env: Any) -> Iterator[tuple[Running, Any]]:
    """A server storing its artifacts in a new bucket of the session's moto server."""
    import boto3

    bucket = s3_env.create_bucket()
    running = start_server(artifacts=f"s3://{bucket}/artifacts")
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    yield running, (client, bucket)


def _keys(client: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def _pending(client: Any, bucket: str) -> list[Any]:
    return list(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


@pytest.mark.slow
def test_s3_large_upload_goes_in_parts(s3_server: tuple[Running, Any]) -> None:
    running, (client, bucket) = s3_server
    data = _body(40 * _MIB)
    assert _put(running.url, "1/big.bin", data) == 200
    assert _get(running.url, "1/big.bin") == data
    head = client.head_object(Bucket=bucket, Key="artifacts/1/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart object, 16 MiB parts
    assert not _pending(client, bucket)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["cut-short", "client-killed"])
def test_s3_unfinished_upload_is_aborted(
    s3_server: tuple[Running, Any], tmp_path: Path, how: str
) -> None:
    running, (client, bucket) = s3_server
    assert _put(running.url, "1/old.bin", b"old contents") == 200
    if how == "cut-short":
        _cut_short(running.url, "1/old.bin", declared=40 * _MIB, sent=20 * _MIB)
        _cut_short(running.url, "1/new.bin", declared=40 * _MIB, sent=20 * _MIB)
    else:
        _killed_mid_upload(running.url, "1/old.bin", tmp_path)
        _killed_mid_upload(running.url, "1/new.bin", tmp_path)
    _eventually(lambda: not _pending(client, bucket), "a multipart upload was left open")
    assert _keys(client, bucket) == ["artifacts/1/old.bin"]
    answer = client.get_object(Bucket=bucket, Key="artifacts/1/old.bin")
    assert answer["Body"].read() == b"old contents"
    log = running.log.read_text()
    assert log.count("abandoned: the client disconnected") == 2 and "Traceback" not in log


# --------------------------------------------------------- the limit, on an in-process server
@pytest.fixture
def small_limit_server(tmp_path: Path) -> Iterator[str]:
    """An in-process server whose artifact limit is 3 MiB."""
    import uvicorn
    from _services import free_port, wait_for_port

    from modelpack.server._app import ServerConfig, create_app

    config = ServerConfig(
        backend_store_uri=str(tmp_path / "store"),
        artifacts_destination=str(tmp_path / "artifacts"),
        max_artifact_bytes=3 * _MIB,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def _raw_answer(url: str, request: bytes) -> tuple[str, str]:
    """Send ``request`` as is and read the answer without sending more: (status line, body)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.decode("latin-1").partition("\r\n\r\n")
    return head.splitlines()[0], body


def test_a_body_over_the_limit_is_413_and_stores_nothing(
    small_limit_server: str, tmp_path: Path
) -> None:
    url = small_limit_server
    assert _put(url, "1/x.bin", b"old") == 200
    # announced too large: refused before the body is read
    status, body = _raw_answer(
        url,
        f"PUT {ARTIFACTS}/1/x.bin HTTP/1.1\r\nHost: x\r\nContent-Length: {4 * _MIB}\r\n\r\n".encode(),
    )
    assert " 413 " in status and "RESOURCE_EXHAUSTED" in body
    # not announced (chunked): refused once the body passes the limit
    chunk = b"%x\r\n" % _MIB + b"z" * _MIB + b"\r\n"
    status, body = _raw_answer(
        url,
        f"PUT {ARTIFACTS}/1/y.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + chunk * 4,
    )
    assert " 413 " in status and "RESOURCE_EXHAUSTED" in body
    assert _files(tmp_path / "artifacts") == ["1/x.bin"]
    assert (tmp_path / "artifacts" / "1/x.bin").read_bytes() == b"old"


def test_the_client_sends_and_reads_in_large_blocks(
    small_limit_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelpack._store._rest_artifacts import ProxyStorage
    from modelpack._store._rest_http import HttpClient

    source = tmp_path / "two-mib.bin"
    source.write_bytes(_body(2 * _MIB))
    sends: list[int] = []
    real_connect = http.client.HTTPConnection.connect

    class CountingSocket:
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

        def sendall(self, data: bytes) -> None:
            sends.append(len(data))
            self._sock.sendall(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._sock, name)

    def connect(self: http.client.HTTPConnection) -> None:
        real_connect(self)
        self.sock = CountingSocket(self.sock)

    monkeypatch.setattr(http.client.HTTPConnection, "connect", connect)
    storage = ProxyStorage("mlflow-artifacts:/1", client=HttpClient(small_limit_server))
    storage.put_file(source, "blocks.bin")
    # the headers, then the file in 1 MiB blocks (http.client's default is 8 KiB: 256 sends)
    assert sorted(sends)[-2:] == [_MIB, _MIB] and len(sends) <= 4, sends
    storage.get_file("blocks.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()
