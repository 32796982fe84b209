"""Schema versions on PostgreSQL: an older store waits for `modelpack store upgrade`, a newer
one asks for a newer modelpack, and the upgrade keeps every row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from modelpack._store import get_store
from modelpack._store._schema import LATEST_VERSION
from modelpack.exceptions import StoreError

from ._helpers import old_store

pytestmark = pytest.mark.filterwarnings("error")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_store_upgrade_from_an_older_schema(pg_url: str, tmp_path: Path) -> None:
    old_store(pg_url, 2)  # version 2: before model_versions.run_link and the digests
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, "
            "last_version) VALUES ('old', 1, 1, 1)"
        )
        conn.execute(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
            "source, storage_location) VALUES ('old', 1, 1, 1, 'runs:/r/model', 'r/model')"
        )
    uri = f"{pg_url}?artifact_root={tmp_path}"
    with pytest.raises(StoreError, match="schema version 2, older .*modelpack store upgrade"):
        get_store(uri)

    done = _cli("store", "upgrade", "--store", uri)
    assert done.returncode == 0, done.stderr
    assert f"upgraded the store's schema from version 2 to {LATEST_VERSION}" in done.stdout
    again = _cli("store", "upgrade", "--store", uri)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr

    store = get_store(uri)
    assert store.get_model_version("old", 1).run_link is None
    assert store.get_latest_version("old").source == "runs:/r/model"
    from modelpack._store import NewVersion

    made = store.create_model_version(
        NewVersion(name="old", source="s", storage_location="x", run_link="https://ci/7")
    )
    assert (made.version, made.run_link) == (2, "https://ci/7")


def test_a_newer_schema_asks_for_a_newer_modelpack(pg_url: str, tmp_path: Path) -> None:
    get_store(f"{pg_url}?artifact_root={tmp_path}").close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s, 0)", (LATEST_VERSION + 1,))
    from modelpack._store import close_stores

    close_stores()
    with pytest.raises(StoreError, match=r"newer than this modelpack .*pip install -U modelpack"):
        get_store(f"{pg_url}?artifact_root={tmp_path}")
    done = _cli("store", "upgrade", "--store", pg_url)
    assert done.returncode != 0 and "pip install -U modelpack" in done.stderr
    assert "Traceback" not in done.stderr


def test_store_upgrade_on_sqlite(tmp_path: Path) -> None:
    done = _cli("store", "upgrade", "--store", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    assert f"made the store's schema (version {LATEST_VERSION})" in done.stdout
    again = _cli("store", "upgrade", "--store", str(tmp_path / "s"))
    assert "nothing to do" in again.stdout
