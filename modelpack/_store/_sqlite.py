"""The embedded store: one SQLite file plus an artifact folder on the local disk."""

from __future__ import annotations

import os
from pathlib import Path

from modelpack._store._base import Store, relative_location
from modelpack._store._db import Database, schema_version_of
from modelpack._store._location import StoreLocation, parse_store_uri
from modelpack._store._schema import LATEST_VERSION
from modelpack._store._sql_runs import SqlRuns
from modelpack._store._sql_versions import SqlVersions

__all__ = ["SqliteStore"]


class SqliteStore(SqlRuns, SqlVersions, Store):
    """Runs and registry in a SQLite database; artifacts in a folder on disk."""

    def __init__(self, location: StoreLocation) -> None:
        self.uri = location.uri
        self.location = location
        self.db = Database(location.db_path)
        self.artifact_root = self._artifact_root(location)

    @classmethod
    def identify(cls, uri: str) -> Path:
        """The database file: a directory and ``sqlite:///<dir>/modelpack.db`` are one store."""
        return parse_store_uri(uri).db_path

    @classmethod
    def open(cls, uri: str) -> SqliteStore:
        return cls(parse_store_uri(uri))

    @classmethod
    def upgrade(cls, uri: str) -> tuple[int, int]:
        """Apply the missing schema migrations (opening does it too): ``(before, after)``."""
        location = parse_store_uri(uri)
        before = schema_version_of(location.db_path)
        store = cls(location)
        store.close()
        return before, LATEST_VERSION

    def _artifact_root(self, location: StoreLocation) -> Path:
        """The folder recorded in the database when it was created (recorded now if new)."""
        base = location.db_path.parent
        with self.db.read() as conn:  # a damaged page here is a StoreError naming the file
            row = conn.execute(
                "SELECT value FROM store_meta WHERE key = 'artifact_root'"
            ).fetchone()
        if row is None:
            with self.db.write() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('artifact_root', ?)",
                    (relative_location(location.default_artifact_root, base),),
                )
                row = conn.execute(
                    "SELECT value FROM store_meta WHERE key = 'artifact_root'"
                ).fetchone()
        return (base / row[0]).absolute() if not os.path.isabs(row[0]) else Path(row[0])

    def close(self) -> None:
        self.db.close()

    def __repr__(self) -> str:
        return f"<SqliteStore {self.location.db_path} artifacts={self.artifact_root}>"
