"""The PostgreSQL connection (psycopg 3): the ``SqlDatabase`` the SQL store runs on.

- The store's SQL uses ``?`` placeholders; they become psycopg's ``%s`` here (and a literal
  ``%`` becomes ``%%``), once per statement text.
- A serial write transaction (``write()``: the registry, experiments) first takes a
  transaction-scoped advisory lock, the same for the whole database: those writes are serial,
  as ``BEGIN IMMEDIATE`` makes them on SQLite, so their check-then-write steps (the next
  version number, a name not yet taken) hold under any number of processes and hosts. Run data
  (``write(serial=False)``: params, metrics, tags, a run's creation and end) takes no such
  lock, so runs logging at once never wait for each other: its statements are safe side by
  side on their own (inserts and ``ON CONFLICT`` upserts keyed by run; a param's
  write-once check reads the row its ``ON CONFLICT DO NOTHING`` insert left, after any other
  writer of that key committed). Reads take no lock and see one snapshot
  (``REPEATABLE READ READ ONLY``).
- Connections are per thread and per process. A lost connection (the server restarted, the
  network dropped) is a :class:`~modelpack.exceptions.StoreUnavailableError` and is dropped; the
  next call connects again. A statement that starts no transaction (``BEGIN``, a lone SELECT)
  is retried once on a new connection first, so a restart between two calls costs nothing.
- The schema: an empty database is given the latest schema on first use; an older one is
  refused until ``modelpack store upgrade`` (or the server's start) upgrades it, since a shared
  database's schema should change when its operator says so; a newer one is refused with a
  message to upgrade modelpack. See ``_postgres_schema``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

from modelpack._optional import require
from modelpack._store._entities import now_ms
from modelpack._store._postgres_schema import PG_MIGRATIONS
from modelpack._store._schema import LATEST_VERSION
from modelpack.exceptions import StoreError, StoreUnavailableError

require("psycopg", "postgres", purpose="a PostgreSQL store")

import psycopg  # noqa: E402 (after the check that names the extra)
from psycopg.pq import TransactionStatus  # noqa: E402

__all__ = ["PostgresDatabase"]

# advisory lock keys (any two fixed 64-bit numbers; the locks are per database)
_WRITE_LOCK = 0x6D70_7374_0001
# a transaction and its lock in one round trip (no parameters: one simple query)
_BEGIN_SERIAL = f"BEGIN; SELECT pg_advisory_xact_lock({_WRITE_LOCK})"
_LOCK = f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})"
_SCHEMA_LOCK = 0x6D70_7374_0002
_CONNECT_TIMEOUT_S = 10


@lru_cache(maxsize=1024)
def _pg_sql(sql: str) -> str:
    """The store's ``?`` SQL in psycopg's placeholder style."""
    return sql.replace("%", "%%").replace("?", "%s")


def _lost(conn: psycopg.Connection[Any], error: psycopg.Error) -> bool:
    """Whether ``error`` means the server is gone, rather than a refused statement."""
    if conn.closed or conn.broken:
        return True
    state = error.sqlstate or ""
    # class 08: connection exception; class 57: the server is shutting down or starting up
    return state.startswith(("08", "57")) or (
        isinstance(error, psycopg.OperationalError) and not state
    )


class _Connection:
    """This thread's connection, with the store's placeholders and errors (a ``Connection``)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._raw: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        #: whether the open write transaction holds the store's write lock
        self.serial = False

    def __del__(self) -> None:
        # a thread that ended or a store let go: close its connection rather than leave it to
        # the collector; never in a forked child, whose socket is the parent's
        if self._pid == os.getpid():
            self.drop()

    def _live(self) -> psycopg.Connection[Any]:
        raw = self._raw
        if raw is None or raw.closed:
            raw = self._raw = self._db.connect()
        return raw

    @property
    def in_transaction(self) -> bool:
        raw = self._raw
        return raw is not None and raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Any:
        return self._run(lambda raw: raw.execute(_pg_sql(sql), parameters)
                         if parameters is not None else raw.execute(sql))  # fmt: skip

    def execute_alone(self, sql: str, parameters: Sequence[Any], /) -> Any:
        """One statement outside any transaction: its own, committed when it ends (autocommit).

        Never sent twice, unlike a lone SELECT: a write whose answer was lost may have been
        applied.
        """
        return self._run(lambda raw: raw.execute(_pg_sql(sql), parameters), retry=False)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        def many(raw: psycopg.Connection[Any]) -> Any:
            cursor = raw.cursor()
            cursor.executemany(_pg_sql(sql), seq_of_parameters)
            return cursor

        return self._run(many)

    def _run(self, call: Callable[[psycopg.Connection[Any]], Any], *, retry: bool = True) -> Any:
        raw = self._live()
        idle = retry and raw.info.transaction_status == TransactionStatus.IDLE
        try:
            return call(raw)
        except psycopg.Error as e:
            if not _lost(raw, e):
                raise self._refused(e) from e
            self.drop()
            if not idle:  # a transaction was lost with the connection: the caller decides
                raise self._db.unavailable(e) from e
        try:  # nothing was under way: once more on a new connection
            raw = self._live()
            return call(raw)
        except psycopg.Error as e:
            if _lost(raw, e):
                self.drop()
                raise self._db.unavailable(e) from e
            raise self._refused(e) from e

    def _refused(self, error: psycopg.Error) -> Exception:
        """A statement the server refused: constraint violations go to the store code as
        they are (it turns them into its own errors); anything else is a StoreError."""
        if isinstance(error, psycopg.IntegrityError):
            return error
        return StoreError(f"the store database {self._db.label} refused a statement: {error}")

    def rollback(self) -> None:
        """End a failed transaction; a connection that is gone has nothing left to end."""
        raw = self._raw
        if raw is None or raw.closed:
            return
        try:
            raw.execute("ROLLBACK")
        except psycopg.Error:
            self.drop()

    def drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with suppress(Exception):
                raw.close()


class PostgresDatabase:
    """One PostgreSQL database, connected lazily per thread and process (a ``SqlDatabase``).

    Parameters
    ----------
    conninfo : str
        A libpq connection URI (``postgresql://user:pass@host:port/db?sslmode=...``).
    label : str
        How messages name the database (``host:port/db``: never the password).
    """

    IntegrityError = psycopg.IntegrityError

    def __init__(self, conninfo: str, *, label: str) -> None:
        self.conninfo = conninfo
        self.label = label
        self._local = threading.local()
        self._checked_pid: int | None = None

    # ------------------------------------------------------------------ connections
    def connect(self) -> psycopg.Connection[Any]:
        """A new connection in autocommit mode (transactions are the store's own BEGINs);
        the first one of a process also checks the schema (creating it in an empty database)."""
        raw = self._open()
        if self._checked_pid != os.getpid():
            try:
                self._check_schema(raw)
            except psycopg.Error as e:
                raw.close()
                raise (
                    self.unavailable(e)
                    if _lost(raw, e)
                    else StoreError(
                        f"cannot read the schema of the store database {self.label}: {e}"
                    )
                ) from e
            except BaseException:
                raw.close()
                raise
            self._checked_pid = os.getpid()
        return raw

    def _open(self) -> psycopg.Connection[Any]:
        conninfo = self.conninfo
        if "connect_timeout" not in conninfo:  # a down host must not hang a call for minutes
            conninfo += ("&" if "?" in conninfo else "?") + f"connect_timeout={_CONNECT_TIMEOUT_S}"
        try:
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as e:
            raise self.unavailable(e) from e
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to the store database {self.label}: {e}") from e

    def unavailable(self, error: BaseException) -> StoreUnavailableError:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return StoreUnavailableError(
            f"the store database {self.label} is unavailable ({detail}); nothing was changed by "
            "the failed call: try again once the database is back (the next call reconnects)"
        )

    def connection(self) -> _Connection:
        local = self._local
        conn: _Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = _Connection(self)
            local.conn, local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.drop()
        self._local.conn = None

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def write(self, *, serial: bool = True) -> Iterator[_Connection]:
        """A write transaction, holding the store's write lock from its start unless
        ``serial`` is false (run data, see the module doc); joins an open one (taking the lock
        then if a serial write joins one that has not)."""
        conn = self.connection()
        if conn.in_transaction:
            if serial and not conn.serial:
                conn.execute(_LOCK)
                conn.serial = True
            yield conn
            return
        conn.execute(_BEGIN_SERIAL if serial else "BEGIN")
        conn.serial = serial
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[_Connection]:
        """A read transaction: several SELECTs that see one consistent snapshot."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.execute("COMMIT")

    def insert_id(self, conn: Any, sql: str, args: Sequence[Any], column: str) -> int:
        """Run an INSERT and return the generated ``column`` of the new row (``RETURNING``)."""
        return int(conn.execute(f"{sql} RETURNING {column}", args).fetchone()[0])

    # ------------------------------------------------------------------ schema
    def _check_schema(self, raw: psycopg.Connection[Any]) -> None:
        """Create the schema in an empty database; refuse one that is older or newer."""
        version = _schema_version(raw)
        if version == LATEST_VERSION:
            return
        if version == 0:
            self._refuse_foreign(raw)
            self.migrate(raw, create_only=True)
            return
        if version > LATEST_VERSION:
            raise _too_new(self.label, version)
        raise StoreError(
            f"the store database {self.label} has schema version {version}, older than this "
            f"modelpack's ({LATEST_VERSION}); upgrade it with `modelpack store upgrade --store "
            "<its URI>` (`modelpack server` also does it when it starts)"
        )

    def _refuse_foreign(self, raw: psycopg.Connection[Any]) -> None:
        row = raw.execute(
            "SELECT to_regclass('experiments') IS NOT NULL OR to_regclass('runs') IS NOT NULL"
        ).fetchone()
        if row and row[0]:
            raise StoreError(
                f"the database {self.label} has tables of another tool (experiments, runs) but "
                "is not a modelpack store (an MLflow database?); give modelpack a database of "
                "its own (CREATE DATABASE ...), or copy the other store in with `modelpack store "
                "migrate`"
            )

    def migrate(self, raw: psycopg.Connection[Any], *, create_only: bool = False) -> int:
        """Apply the missing migrations in one transaction; returns the version found before.

        ``create_only``: only build the schema of an empty database (a client's first use),
        leave an existing one as it is.
        """
        try:
            with raw.transaction():
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                current = _schema_version(raw)  # again, now that no one else can change it
                if current > LATEST_VERSION:
                    raise _too_new(self.label, current)
                if create_only and current != 0:
                    return current
                for version in range(current + 1, LATEST_VERSION + 1):
                    for statement in PG_MIGRATIONS[version]:
                        raw.execute(statement)
                    raw.execute(
                        "INSERT INTO schema_version (version, applied_time) VALUES (%s, %s)",
                        (version, now_ms()),
                    )
                return current
        except psycopg.Error as e:
            if _lost(raw, e):
                raise self.unavailable(e) from e
            raise StoreError(f"cannot upgrade the store database {self.label}: {e}") from e

    def upgrade(self) -> tuple[int, int]:
        """Bring the schema to the latest version: ``(version before, version after)``."""
        raw = self._open()
        try:
            if _schema_version(raw) == 0:
                self._refuse_foreign(raw)
            before = self.migrate(raw)
        finally:
            raw.close()
        return before, LATEST_VERSION


def _schema_version(raw: psycopg.Connection[Any]) -> int:
    # pg_tables, not to_regclass: a scan of the catalog sees a table another process created
    # while this one waited for the schema lock (a name lookup may answer from a stale cache)
    row = raw.execute(
        "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
        "AND tablename = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    found = raw.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(found[0] or 0) if found else 0


def _too_new(label: str, version: int) -> StoreError:
    return StoreError(
        f"the store database {label} has schema version {version}, newer than this modelpack "
        f"understands ({LATEST_VERSION}); upgrade modelpack (pip install -U modelpack)"
    )
