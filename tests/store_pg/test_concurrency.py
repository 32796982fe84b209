"""Concurrent writers on one PostgreSQL store, each in its own process (the 8 x 10
registrations run in tests/store/test_concurrency.py[postgresql] and test_server.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from modelpack._store import NewVersion, get_store
from modelpack._store._schema import LATEST_VERSION

pytestmark = pytest.mark.filterwarnings("error")

# waits for the go file, then moves the alias to its version ROUNDS times
MOVER = """
import sys, time
from pathlib import Path
from modelpack._store import get_store
uri, version, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store = get_store(uri)
store.get_model_version("m", version)  # connected before the start
while not go.exists():
    time.sleep(0.005)
for _ in range(25):
    store.set_alias("m", "champion", version)
"""


def test_two_alias_moves_at_once_leave_it_on_one_of_them(pg_url: str, tmp_path: Path) -> None:
    uri = f"{pg_url}?artifact_root={tmp_path}"
    store = get_store(uri)
    for n in (1, 2):
        store.create_model_version(
            NewVersion(name="m", source=f"s{n}", storage_location=f"v{n}", create_model=True)
        )
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MOVER, uri, str(v), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in (1, 2)
    ]
    time.sleep(1.0)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert store.get_model_version_by_alias("m", "champion").version in (1, 2)
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT alias, version FROM model_aliases").fetchall()
    assert len(rows) == 1 and rows[0][0] == "champion"


def test_concurrent_first_uses_of_an_empty_database_make_one_schema(
    pg_url: str, tmp_path: Path
) -> None:
    code = (
        "import sys; from modelpack._store import get_store; "
        "s = get_store(sys.argv[1]); s.get_or_create_experiment('shared'); print('ok')"
    )
    uri = f"{pg_url}?artifact_root={tmp_path}"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, uri], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "ok", err
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        shared = conn.execute("SELECT COUNT(*) FROM experiments WHERE name = 'shared'").fetchone()
    assert [v[0] for v in versions] == list(range(1, LATEST_VERSION + 1)) and shared == (1,)
