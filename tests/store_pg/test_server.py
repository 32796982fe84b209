"""A real `modelpack server` on PostgreSQL: the schema upgrade at start, 503 while the database
is down and service again once it is back, 80 registrations through two servers."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from modelpack._store._schema import LATEST_VERSION
from tests.server.conftest import Running, call
from tests.server.test_concurrency import _register

from ._helpers import old_store, request

API = "/api/2.0/mlflow"


@pytest.mark.slow
def test_upgrade_on_start_then_503_during_an_outage(
    postgres: Any, pg_url: str, start_server: Callable[..., Running], tmp_path: Path
) -> None:
    old_store(pg_url, LATEST_VERSION - 1)
    server = start_server(store=f"{pg_url}?artifact_root={tmp_path / 'store-artifacts'}")
    log = server.log.read_text()
    assert f"upgraded the store's schema from version {LATEST_VERSION - 1} to {LATEST_VERSION}" in (
        log
    )
    create = f"{server.url}{API}/experiments/create"
    search = f"{server.url}{API}/experiments/search"
    assert request(create, {"name": "before"})[0] == 200

    postgres.stop("fast")
    try:
        for url, body in ((search, {"max_results": 10}), (create, {"name": "during"})):
            status, headers, answer = request(url, body)
            assert status == 503, answer
            assert answer["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert "unavailable" in answer["message"] and "try again" in answer["message"]
            assert int(headers["retry-after"]) > 0
    finally:
        postgres.start()

    # the connections the outage broke are replaced on the next call: no error after it
    status, _, answer = request(search, {"max_results": 10})
    assert status == 200, answer
    assert {e["name"] for e in answer["experiments"]} == {"Default", "before"}
    assert request(create, {"name": "after"})[0] == 200
    text = server.log.read_text()
    assert "Traceback" not in text and "unavailable" in text


@pytest.mark.slow
def test_eighty_registrations_through_two_servers_get_versions_1_to_80(
    pg_url: str, start_server: Callable[..., Running], tmp_path: Path
) -> None:
    store = f"{pg_url}?artifact_root={tmp_path / 'store-artifacts'}"
    first = start_server(store=store, artifacts=tmp_path / "artifacts")
    second = start_server(store=store, artifacts=tmp_path / "artifacts")
    assert call(f"{first.url}{API}/registered-models/create", "POST", {"name": "shared"})[0] == 200
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.starmap(_register, [(url, 10) for url in [first.url, second.url] * 4])
    assert sorted(v for got in results for v in got) == list(range(1, 81))
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT version FROM model_versions ORDER BY version").fetchall()
        last = conn.execute("SELECT last_version FROM registered_models").fetchone()
    assert [r[0] for r in rows] == list(range(1, 81)) and last == (80,)
    for running in (first, second):
        assert "Traceback" not in running.log.read_text()
