"""Real services for the tests, started as throwaway processes on 127.0.0.1.

* PostgreSQL: a new cluster in a temporary directory (``initdb`` + ``pg_ctl``), run as the
  ``postgres`` system user when the tests run as root (PostgreSQL refuses root), else as the
  current user. Debian's ``postgresql`` package provides the binaries (``.ci/run`` installs it).
* S3: moto's server mode (``moto_server``), reached over HTTP by the real S3 client.

Both are session-scoped and stopped at the end. When a binary is missing, the fixture fails
with the command that installs it; under ``CI=true`` nothing here is ever skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Postgres", "S3Server", "free_port", "start_postgres", "start_s3", "wait_for_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, *, timeout: float = 30.0, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service exited with status {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


# --------------------------------------------------------------------------- PostgreSQL
def _pg_bindir() -> Path:
    # Debian's versioned directory first: it holds every tool of one release together.
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    found = shutil.which("pg_ctl")
    candidates += [Path(found).parent] if found else []
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise RuntimeError(
        "PostgreSQL's initdb/pg_ctl were not found; install them with: "
        "apt-get install -y postgresql"
    )


@dataclass
class Postgres:
    """A running throwaway cluster; ``url(db)`` gives a SQLAlchemy-style URL for a database."""

    port: int
    user: str
    datadir: Path
    bindir: Path
    _as: list[str]

    def url(self, database: str = "postgres", *, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def start(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60",
                  "-l", str(self.datadir / "server.log"), "start")  # fmt: skip
        wait_for_port(self.port)

    def _run(self, *cmd: str) -> None:
        done = subprocess.run([*self._as, *cmd], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr or done.stdout}")


def start_postgres(root: Path) -> Postgres:
    bindir = _pg_bindir()
    as_user: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres system user
        as_user, user = ["runuser", "-u", "postgres", "--"], "postgres"
        root.chmod(0o755)
    datadir = root / "pgdata"
    datadir.mkdir()
    if as_user:
        shutil.chown(datadir, "postgres", "postgres")
    pg = Postgres(port=free_port(), user=user, datadir=datadir, bindir=bindir, _as=as_user)
    pg._run(str(bindir / "initdb"), "-D", str(datadir), "-U", user, "-A", "trust",
            "--no-sync", "-E", "UTF8")  # fmt: skip
    with open(datadir / "postgresql.conf", "a") as conf:
        conf.write(
            f"\nport = {pg.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
        )
    if as_user:
        shutil.chown(datadir / "postgresql.conf", "postgres", "postgres")
    pg.start()
    return pg


# --------------------------------------------------------------------------- S3 (moto)
@dataclass
class S3Server:
    endpoint_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def env(self) -> dict[str, str]:
        """What a client process needs to reach it."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def create_bucket(self, name: str | None = None) -> str:
        import boto3

        name = name or f"b-{uuid.uuid4().hex[:12]}"
        client = boto3.client("s3", endpoint_url=self.endpoint_url, **_boto_credentials())
        client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }


def start_s3(root: Path) -> S3Server:
    exe = Path(sys.executable).parent / "moto_server"
    if not exe.exists():
        found = shutil.which("moto_server")
        if not found:
            raise RuntimeError(
                'moto_server was not found; install it with: pip install "moto[server]"'
            )
        exe = Path(found)
    port = free_port()
    log = root / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    wait_for_port(port, proc=proc)
    return S3Server(endpoint_url=f"http://127.0.0.1:{port}", proc=proc, log=log)


@contextlib.contextmanager
def services_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="modelpack-services-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
