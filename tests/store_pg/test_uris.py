"""PostgreSQL store URIs: both spellings, the artifact root, masked passwords, bad targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from modelpack._store import close_stores, get_store
from modelpack.exceptions import ModelNotFoundError, StoreError, StoreUnavailableError
from tests._services import free_port

pytestmark = pytest.mark.filterwarnings("error")


def test_both_spellings_open_one_store(pg_url: str, tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    plain = get_store(f"{pg_url}?artifact_root={root}")
    exp_id = plain.create_experiment("e")
    driver = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    same = get_store(f"{driver}?artifact_root={root}")
    assert same is plain
    close_stores()
    assert get_store(f"{driver}?artifact_root={root}").get_experiment_by_name(
        "e"
    ).experiment_id == (exp_id)


def test_the_artifact_root_is_recorded_by_the_first_open(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPACK_ARTIFACT_ROOT", raising=False)
    first = get_store(f"{pg_url}?artifact_root={tmp_path / 'first'}")
    assert first.artifact_root == tmp_path / "first"
    close_stores()
    assert get_store(pg_url).artifact_root == tmp_path / "first"  # the recorded one
    close_stores()
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "from-env"))
    assert get_store(pg_url).artifact_root == tmp_path / "from-env"
    close_stores()
    assert get_store(f"{pg_url}?artifact_root={tmp_path / 'q'}").artifact_root == tmp_path / "q"
    with pytest.raises(StoreError, match="give a folder every client can reach"):
        get_store(f"{pg_url}?artifact_root=nosuchscheme://bucket/x")


def test_the_password_never_shows(postgres: Any, tmp_path: Path) -> None:
    url = postgres.create_database()
    user, rest = url.split("://", 1)[1].split("@", 1)
    with_password = f"postgresql://{user}:s3cr3t@{rest}?artifact_root={tmp_path}"
    store = get_store(with_password)  # the test cluster trusts any password
    assert "s3cr3t" not in store.uri and "***" in store.uri
    with pytest.raises(ModelNotFoundError) as info:
        store.get_run("nope")
    assert "s3cr3t" not in str(info.value)


def test_an_unreachable_server_is_unavailable_not_a_traceback(tmp_path: Path) -> None:
    url = f"postgresql://nobody:pw@127.0.0.1:{free_port()}/db?artifact_root={tmp_path}"
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:\d+/db is unavailable") as info:
        get_store(url)
    assert "pw" not in str(info.value) and info.value.get_http_status_code() == 503


def test_another_tools_database_is_refused(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE runs (run_uuid TEXT PRIMARY KEY)")
    with pytest.raises(StoreError, match="not a modelpack store"):
        get_store(f"{pg_url}?artifact_root={tmp_path}")


@pytest.mark.parametrize(
    "uri", ["postgresql://host", "postgresql://host:99999/db"], ids=["no-database", "bad-port"]
)
def test_malformed_uris(uri: str) -> None:
    with pytest.raises(StoreError, match="store URI"):
        get_store(uri)
