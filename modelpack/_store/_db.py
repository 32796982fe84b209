"""The SQLite connection: WAL, busy timeout, explicit transactions and schema migrations.

Every write runs in ``BEGIN IMMEDIATE``: it takes the database's write lock before reading, so
two processes allocating the next version number cannot both read the same maximum (a
deferred transaction would read first and fail, or worse, when upgrading to a writer).
Readers never block writers in WAL mode. Connections are per thread and per process, so a
forked child never reuses its parent's connection.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from modelpack._store._entities import now_ms
from modelpack._store._schema import LATEST_VERSION, MIGRATIONS
from modelpack.exceptions import StoreError

__all__ = ["Database"]

_BUSY_TIMEOUT_S = 120.0


@lru_cache(maxsize=256)
def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(value: str | None, pattern: str | None, ignore_case: int) -> int:
    """SQL LIKE with MLflow's meaning: case-sensitive, unless ILIKE (SQLite's is neither)."""
    if value is None or pattern is None:
        return 0
    return int(_like_regex(pattern, bool(ignore_case)).fullmatch(str(value)) is not None)


class Database:
    """One SQLite database file, opened lazily per thread and process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = self._connect()
            local.conn, local.pid = conn, os.getpid()
        return conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the store database {self.path}: {e}") from e
        conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        # WAL is a property of the file: setting it once is enough, later calls are no-ops.
        # NORMAL sync in WAL mode survives any process crash; a power cut may lose the last
        # commits but never corrupts the file.
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("mp_like", 3, _like, deterministic=True)
        _migrate(conn, self.path)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the write lock from its start (joins an open one)."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs that see one consistent snapshot."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None


def _retry_locked(fn: Callable[[], object]) -> None:
    """Run ``fn`` again while another process holds a lock the busy handler does not cover."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            fn()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise StoreError(f"the store database is unavailable: {e}") from e
            time.sleep(0.02)


def _schema_version(conn: sqlite3.Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to ``LATEST_VERSION``; concurrent openers serialize on the lock."""
    if _schema_version(conn) == LATEST_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _schema_version(conn)  # again, now that no one else can change it
        if current > LATEST_VERSION:
            raise StoreError(
                f"the store database {path} has schema version {current}, newer than this "
                f"modelpack understands ({LATEST_VERSION}); upgrade modelpack "
                "(pip install -U modelpack)"
            )
        for version in range(current + 1, LATEST_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_time) VALUES (?, ?)",
                (version, now_ms()),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
