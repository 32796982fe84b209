"""Store URIs, the embedded default, the database settings and schema migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import modelpack
from modelpack._store import get_store
from modelpack._store._location import parse_store_uri
from modelpack._store._schema import LATEST_VERSION
from modelpack.exceptions import StoreError

pytestmark = pytest.mark.filterwarnings("error")


def test_default_store_is_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPACK_STORE_URI")
    monkeypatch.chdir(tmp_path)
    assert modelpack.get_store_uri() == str(tmp_path / "modelpack-store")
    store = get_store()
    assert store.artifact_root == tmp_path / "modelpack-store" / "artifacts"
    assert (tmp_path / "modelpack-store" / "modelpack.db").is_file()


@pytest.mark.parametrize(
    ("uri", "db", "artifacts"),
    [
        ("{tmp}/dir", "{tmp}/dir/modelpack.db", "{tmp}/dir/artifacts"),
        ("file://{tmp}/dir", "{tmp}/dir/modelpack.db", "{tmp}/dir/artifacts"),
        ("sqlite:///{tmp}/x/track.db", "{tmp}/x/track.db", "{tmp}/x/track-artifacts"),
    ],
    ids=["directory", "file-uri", "sqlite-absolute"],
)
def test_store_uri_forms(tmp_path: Path, uri: str, db: str, artifacts: str) -> None:
    modelpack.set_store_uri(uri.format(tmp=tmp_path))
    store = get_store()
    assert Path(db.format(tmp=tmp_path)).is_file()
    assert store.artifact_root == Path(artifacts.format(tmp=tmp_path))


def test_sqlite_three_slashes_is_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loc = parse_store_uri("sqlite:///modelpack.db")
    assert loc.db_path == tmp_path / "modelpack.db"
    assert loc.default_artifact_root == tmp_path / "modelpack-artifacts"


def test_env_var_selects_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPACK_STORE_URI", f"sqlite:///{tmp_path}/env.db")
    assert modelpack.get_store_uri() == f"sqlite:///{tmp_path}/env.db"
    get_store()
    assert (tmp_path / "env.db").is_file()


def test_set_store_uri_wins_over_the_env_var(tmp_path: Path) -> None:
    modelpack.set_store_uri(tmp_path / "chosen")
    assert modelpack.get_store_uri() == str(tmp_path / "chosen")
    modelpack.set_store_uri(None)
    assert modelpack.get_store_uri().endswith("modelpack-store")


@pytest.mark.parametrize(
    "uri",
    ["sqlite://relative.db", "sqlite:///:memory:", "ftp://server/x", "file://host/x"],
    ids=["two-slashes", "memory", "unknown-scheme", "remote-file"],
)
def test_bad_store_uris_are_refused_up_front(uri: str) -> None:
    with pytest.raises(StoreError):
        modelpack.set_store_uri(uri)


def test_an_existing_database_keeps_its_artifact_folder(tmp_path: Path) -> None:
    """A directory store opened as sqlite:///.../modelpack.db still finds its artifacts."""
    from modelpack._store._sqlite import SqliteStore

    get_store(tmp_path / "s")
    reopened = SqliteStore(parse_store_uri(f"sqlite:///{tmp_path}/s/modelpack.db"))
    assert reopened.artifact_root == tmp_path / "s" / "artifacts"
    reopened.close()


def test_database_uses_wal_and_a_schema_version(tmp_path: Path) -> None:
    get_store(tmp_path / "s")
    conn = sqlite3.connect(tmp_path / "s" / "modelpack.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST_VERSION
    default = conn.execute("SELECT name FROM experiments WHERE experiment_id = 0").fetchone()
    assert default == ("Default",)


def test_a_newer_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    get_store(tmp_path / "s")
    conn = sqlite3.connect(tmp_path / "s" / "modelpack.db")
    conn.execute("INSERT INTO schema_version VALUES (?, 0)", (LATEST_VERSION + 1,))
    conn.commit()
    conn.close()
    from modelpack._store._sqlite import SqliteStore

    with pytest.raises(StoreError, match="upgrade modelpack"):
        SqliteStore(parse_store_uri(tmp_path / "s"))


def test_an_older_schema_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store at an older schema version gets the missing migrations applied on open."""
    from modelpack._store import _db, _schema

    extra = ("CREATE TABLE later_feature (x INTEGER)",)
    get_store(tmp_path / "s")  # written at LATEST_VERSION
    monkeypatch.setattr(_db, "MIGRATIONS", {**_schema.MIGRATIONS, LATEST_VERSION + 1: extra})
    monkeypatch.setattr(_db, "LATEST_VERSION", LATEST_VERSION + 1)
    from modelpack._store._sqlite import SqliteStore

    SqliteStore(parse_store_uri(tmp_path / "s"))
    conn = sqlite3.connect(tmp_path / "s" / "modelpack.db")
    assert (
        conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST_VERSION + 1
    )
    assert conn.execute("SELECT COUNT(*) FROM later_feature").fetchone()[0] == 0


class _Prefixed:
    """A test backend: ``prefixed://<dir>`` is the directory store at ``<dir>``."""

    @staticmethod
    def _strip(uri: str) -> str:
        return uri.removeprefix("prefixed://")

    @classmethod
    def identify(cls, uri: str) -> object:
        from modelpack._store._sqlite import SqliteStore

        return SqliteStore.identify(cls._strip(uri))

    @classmethod
    def open(cls, uri: str) -> object:
        from modelpack._store._sqlite import SqliteStore

        return SqliteStore.open(cls._strip(uri))


def test_a_backend_plugs_in_as_one_scheme_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get_store`` finds the backend by the URI's scheme, and opens each store once."""
    from modelpack import _store

    monkeypatch.setitem(_store._BACKENDS, "prefixed", f"{__name__}:_Prefixed")
    modelpack.set_store_uri(f"prefixed://{tmp_path}/s")
    store = get_store()
    assert store.artifact_root == tmp_path / "s" / "artifacts"
    same = f"prefixed://sqlite:///{tmp_path}/s/modelpack.db"  # another URI of that store
    assert get_store(same) is store
    assert get_store(tmp_path / "s") is not store  # another backend: its own handle


def test_an_unknown_scheme_names_the_accepted_forms() -> None:
    with pytest.raises(StoreError, match=r"unsupported store URI 'mysql://h/db': use a dir"):
        get_store("mysql://h/db")
