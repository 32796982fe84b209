"""The SQLite connection: WAL, busy timeout, explicit transactions and schema migrations.

Every write runs in ``BEGIN IMMEDIATE``: it takes the database's write lock before reading, so
two processes allocating the next version number cannot both read the same maximum (a
deferred transaction would read first and fail, or worse, when upgrading to a writer).
Readers never block writers in WAL mode. Connections are per thread and per process, so a
forked child never reuses its parent's connection.

Only a missing file makes a new store, and it is built under a temporary name and linked into
place, so no one ever sees it half made. An existing file that is empty, not SQLite, or
damaged is a one-line ``StoreError`` naming it: opening it as a fresh store would restart the
version numbers and hide every earlier run.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any

from modelpack._store._dialect import Connection
from modelpack._store._entities import now_ms
from modelpack._store._schema import LATEST_VERSION, MIGRATIONS
from modelpack.exceptions import StoreError

__all__ = ["Database", "schema_version_of"]

_BUSY_TIMEOUT_S = 120.0
#: (pid, real path) of the database files this process has checked and may hold open
_checked: set[tuple[int, str]] = set()
_SQLITE_HEADER = b"SQLite format 3\x00"


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
    """One SQLite database file, opened lazily per thread and process (a ``SqlDatabase``)."""

    IntegrityError = sqlite3.IntegrityError

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
        if not os.path.lexists(self.path):
            _create(self.path)
        key = (os.getpid(), os.path.realpath(self.path))
        # the header is read only before this process holds a connection to the file: closing
        # another handle on it would drop the process's SQLite locks (POSIX locks belong to the
        # process), letting another process remove the WAL under our open connections
        _check_file(self.path, read_header=key not in _checked)
        _checked.add(key)
        try:
            conn = _open(self.path)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the store database {self.path}: {e}") from e
        try:
            _setup(conn, self.path)
        except BaseException as e:
            conn.close()
            if type(e) is sqlite3.DatabaseError:
                raise damaged(self.path, e) from e
            raise
        return conn

    @contextmanager
    def write(self, *, serial: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the write lock from its start (joins an open one).

        SQLite has one writer at a time anyway: ``serial`` (false for run data, which
        PostgreSQL writes side by side) changes nothing here.
        """
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            with self._translated():
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
            with self._translated():
                yield conn
        finally:
            conn.execute("COMMIT")

    def insert_id(self, conn: Connection, sql: str, args: Sequence[Any], column: str) -> int:
        """Run an INSERT and return the new row's key (``lastrowid``: the rowid alias)."""
        cursor: Any = conn.execute(sql, args)  # a sqlite3.Cursor
        return int(cursor.lastrowid or 0)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """A damaged page met by a query: one StoreError naming the file, not a traceback."""
        try:
            yield
        except sqlite3.DatabaseError as e:
            # the plain class only: its subclasses (IntegrityError, OperationalError) are
            # answers the callers handle themselves
            if type(e) is sqlite3.DatabaseError:
                raise damaged(self.path, e) from e
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None


def damaged(path: Path, error: BaseException) -> StoreError:
    """The error for a store database SQLite cannot read."""
    return StoreError(
        f"the store database {path} is damaged ({error}); restore it from a backup, or move it "
        "away to start a new, empty store there"
    )


def _check_file(path: Path, *, read_header: bool) -> None:
    """Refuse an existing path that is not a SQLite database, before SQLite reuses it.

    Without ``read_header`` only ``stat`` is used, which opens no handle on the file.
    """
    if path.is_dir():
        raise StoreError(
            f"the store database {path} is a directory; move it away, or point the store URI "
            "at the folder that holds modelpack.db"
        )
    try:
        if read_header:
            with open(path, "rb") as f:
                header = f.read(len(_SQLITE_HEADER))
        else:
            header = _SQLITE_HEADER if os.stat(path).st_size else b""
    except OSError as e:
        raise StoreError(f"cannot read the store database {path}: {e.strerror or e}") from e
    if not header:
        raise StoreError(
            f"the store database {path} is empty (0 bytes), so its runs and models are lost; "
            "restore it from a backup, or move it away to start a new, empty store there"
        )
    if header != _SQLITE_HEADER:
        raise StoreError(
            f"{path} is not a SQLite database, so not a modelpack store; restore it from a "
            "backup, or move it away to start a new, empty store there"
        )


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(
        path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )


def _setup(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
    # WAL is a property of the file: setting it once is enough, later calls are no-ops.
    # NORMAL sync in WAL mode survives any process crash; a power cut may lose the last
    # commits but never corrupts the file.
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("mp_like", 3, _like, deterministic=True)
    _migrate(conn, path)


def _create(path: Path) -> None:
    """Build a new store database beside ``path`` and link it into place if still missing.

    SQLite creates an empty file first and writes its header later; another process opening
    the store in that moment would take the empty file for a lost store.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.creating-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.unlink(tmp)  # SQLite makes the file itself
        conn = _open(tmp)
        try:
            _setup(conn, path)
        finally:
            conn.close()  # the last connection checkpoints and removes the -wal file
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made the store first: use theirs
        except OSError:  # no hard links on this filesystem
            if not os.path.lexists(path):
                os.rename(tmp, path)
    except sqlite3.Error as e:
        raise StoreError(f"cannot create the store database {path}: {e}") from e
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with suppress(FileNotFoundError):
                os.unlink(leftover)


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


def schema_version_of(path: Path) -> int:
    """The schema version of the database at ``path``, read without changing it (0: none)."""
    if not os.path.lexists(path):
        return 0
    _check_file(path, read_header=(os.getpid(), os.path.realpath(path)) not in _checked)
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            return _schema_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise damaged(path, e) from e


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
