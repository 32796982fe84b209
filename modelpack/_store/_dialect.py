"""The seam between the SQL store logic and the database it runs on (SQLite or PostgreSQL).

The store classes (``_sql_*``) write their SQL once, in the subset both databases read the same
way: ``?`` placeholders, ``INSERT ... ON CONFLICT (...) DO UPDATE`` / ``DO NOTHING`` (never
SQLite's ``INSERT OR REPLACE``), ``1 = 1`` rather than a bare ``1`` as a condition, and
``mp_like(value, pattern, ignore_case)`` for LIKE / ILIKE with MLflow's meaning (case-sensitive
unless ILIKE, no escape character): SQLite gets it as a Python function, PostgreSQL as a SQL
function its schema defines. What does differ is behind :class:`SqlDatabase`:

- ``write()``: a transaction that holds the store's write lock from its first statement, so
  the check-then-write steps (the next version number, a name not taken yet) are serial on
  both databases (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock).
  ``write(serial=False)`` is for run data, whose statements need no store-wide order (inserts
  and upserts keyed by run, checked by their row counts): PostgreSQL then takes no lock, so
  runs logging at once do not queue behind each other; SQLite is serial either way;
- ``read()``: a transaction whose SELECTs see one snapshot;
- ``insert_id()``: the key of a row just inserted (``lastrowid``; ``RETURNING``);
- ``IntegrityError``: the driver's constraint-violation class.

Connections are per thread and per process in both, so a forked child never reuses its
parent's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["NO_LIMIT", "Connection", "Cursor", "SqlDatabase"]

#: a LIMIT that keeps every row (SQLite's ``-1`` means that, PostgreSQL's does not)
NO_LIMIT = 2**62


class Cursor(Protocol):
    """What the store reads from an executed statement (sqlite3's cursor has it all)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection taking ``?`` placeholders (sqlite3's, or the PostgreSQL adapter)."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Cursor: ...


class SqlDatabase(Protocol):
    """One store database: connections, transactions and the few dialect differences."""

    @property
    def IntegrityError(self) -> type[Exception]:
        """The driver's constraint-violation error (a duplicate key, a missing foreign key)."""
        ...

    def connection(self) -> Connection: ...

    def write(self, *, serial: bool = True) -> AbstractContextManager[Connection]: ...

    def read(self) -> AbstractContextManager[Connection]: ...

    def insert_id(self, conn: Connection, sql: str, args: Sequence[Any], column: str) -> int:
        """Run an INSERT and return the generated ``column`` of the new row."""
        ...

    def close(self) -> None: ...
