"""The store never closes a plain handle on its database while it holds SQLite connections.

POSIX locks belong to the process: closing any handle on the file drops every lock SQLite holds
through the process's other connections, and another process may then remove the WAL (and the
commits in it) under them. The header check therefore reads the file only before the first
connection of a process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from modelpack._store import _db
from modelpack.exceptions import StoreError


def test_a_second_thread_opens_no_plain_handle_on_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "modelpack.db"
    _db.Database(path).connection().execute("SELECT 1")  # made, checked and held open
    opened: list[str] = []
    real_open = open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(_db, "open", spy, raising=False)
    database = _db.Database(path)
    database.connection().execute("SELECT 1")
    worker = threading.Thread(target=lambda: database.connection().execute("SELECT 1"))
    worker.start()
    worker.join()
    assert _db.schema_version_of(path) > 0
    assert str(path) not in opened


def test_a_database_emptied_while_in_use_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "modelpack.db"
    _db.Database(path).connection().execute("SELECT 1")
    path.write_bytes(b"")
    with pytest.raises(StoreError, match="empty"):
        _db.Database(path).connection()
