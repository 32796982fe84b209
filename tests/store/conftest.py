"""Fixtures for the store tests: a tiny model, clean run/store state, subprocess helpers.

The store's behaviour is one implementation on two databases, so the modules in ``_BOTH``
run once per backend (ids ``[sqlite]`` and ``[postgresql]``). The PostgreSQL runs share one
database of the session's throwaway cluster (the ``postgres`` fixture), emptied before each
test, with the test's own artifact folder; a test about SQLite itself is marked
``sqlite_only``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

_BOTH = {
    "test_registry",
    "test_runs",
    "test_run_writes",
    "test_experiments",
    "test_log_model",
    "test_concurrency",
}
_SEED = "mp_test_seed_experiments"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a store test about the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    if module in _BOTH and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def _pg_store_url(postgres: Any) -> str:
    """One database for the session's PostgreSQL store tests, with the store's schema and a
    copy of its seed rows (the Default experiment) to restore between tests."""
    import psycopg

    from modelpack._store import close_stores, get_store

    url = str(postgres.create_database())
    get_store(url)  # creates the schema
    close_stores()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {_SEED} AS SELECT * FROM experiments")
    return url


def _empty_pg_store(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('schema_version', %s)",
                (_SEED,),
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        conn.execute(f"INSERT INTO experiments SELECT * FROM {_SEED}")


@pytest.fixture(autouse=True)
def store_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The database under the test's store: SQLite (the default) or PostgreSQL."""
    backend = str(getattr(request, "param", "sqlite"))
    if backend == "postgresql":
        url = request.getfixturevalue("_pg_store_url")
        _empty_pg_store(url)
        monkeypatch.setenv("MODELPACK_STORE_URI", f"{url}?artifact_root={tmp_path / 'artifacts'}")
    return backend


@pytest.fixture(autouse=True)
def _clean_tracking_state() -> Iterator[None]:
    """No active run, store URI or experiment leaks from one test into the next."""
    yield
    import modelpack
    from modelpack import _store, _tracking

    while modelpack.active_run() is not None:
        modelpack.end_run()
    _tracking._active_experiment = None
    _tracking._last_run = None
    modelpack.set_store_uri(None)
    _store.close_stores()


@pytest.fixture(scope="session")
def tiny() -> tuple[Any, np.ndarray]:
    """A LinearRegression on a few rows, and its input."""
    from sklearn.linear_model import LinearRegression

    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    y = X @ np.array([1.5, -2.0]) + 0.5
    return LinearRegression().fit(X, y), X
