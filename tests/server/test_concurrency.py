"""8 processes x 10 registrations through two server processes on one SQLite store."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

from tests.server.conftest import Running, call

API = "/api/2.0/mlflow"


def _register(url: str, count: int) -> list[int]:
    versions = []
    for _ in range(count):
        status, body = call(
            f"{url}{API}/model-versions/create",
            "POST",
            {"name": "shared", "source": "mlflow-artifacts:/0/some/model"},
        )
        assert status == 200, body
        versions.append(int(body["model_version"]["version"]))
    return versions


def test_eighty_registrations_get_versions_1_to_80(
    start_server: Callable[..., Running], tmp_path: Path
) -> None:
    store, artifacts = tmp_path / "store", tmp_path / "artifacts"
    first = start_server(store=store, artifacts=artifacts)
    second = start_server(store=store, artifacts=artifacts)
    assert call(f"{first.url}{API}/registered-models/create", "POST", {"name": "shared"})[0] == 200
    urls = [first.url, second.url] * 4
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.starmap(_register, [(url, 10) for url in urls])
    numbers = sorted(v for got in results for v in got)
    assert numbers == list(range(1, 81))
    status, body = call(
        f"{second.url}{API}/model-versions/search?filter=name%3D%27shared%27&max_results=1000"
    )
    assert status == 200
    assert sorted(int(v["version"]) for v in body["model_versions"]) == list(range(1, 81))
    for running in (first, second):
        assert "Traceback" not in running.log.read_text()
