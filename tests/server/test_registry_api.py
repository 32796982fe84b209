"""The registry and run searches over HTTP: aliases, stages, tags, page tokens."""

from __future__ import annotations

from urllib.parse import quote

from tests.server.conftest import Running, call

API = "/api/2.0/mlflow"


def test_versions_aliases_stages_and_paging(server: Running) -> None:
    url = f"{server.url}{API}"
    assert call(f"{url}/registered-models/create", "POST", {"name": "m"})[0] == 200
    for _ in range(3):
        status, body = call(
            f"{url}/model-versions/create", "POST", {"name": "m", "source": "mlflow-artifacts:/0/x"}
        )
        assert status == 200, body
    assert (
        call(
            f"{url}/registered-models/alias",
            "POST",
            {"name": "m", "alias": "champion", "version": "2"},
        )[0]
        == 200
    )
    status, body = call(f"{url}/registered-models/alias?name=m&alias=champion")
    assert status == 200 and body["model_version"]["version"] == "2"
    assert body["model_version"]["aliases"] == ["champion"]
    status, body = call(
        f"{url}/model-versions/transition-stage",
        "POST",
        {"name": "m", "version": "3", "stage": "production", "archive_existing_versions": False},
    )
    assert status == 200 and body["model_version"]["current_stage"] == "Production"
    status, body = call(
        f"{url}/registered-models/get-latest-versions",
        "POST",
        {"name": "m", "stages": ["Production"]},
    )
    assert [v["version"] for v in body["model_versions"]] == ["3"]
    assert (
        call(
            f"{url}/model-versions/set-tag",
            "POST",
            {"name": "m", "version": "1", "key": "k", "value": "v"},
        )[0]
        == 200
    )
    status, body = call(f"{url}/model-versions/get?name=m&version=1")
    assert body["model_version"]["tags"] == [{"key": "k", "value": "v"}]
    status, body = call(f"{url}/model-versions/get-download-uri?name=m&version=1")
    assert body == {"artifact_uri": "mlflow-artifacts:/0/x"}
    seen, token = [], ""
    while True:
        query = f"filter={quote(chr(39).join(['name=', 'm', '']))}&max_results=2&page_token={quote(token)}"
        status, body = call(f"{url}/model-versions/search?{query}")
        assert status == 200, body
        seen += [v["version"] for v in body["model_versions"]]
        token = body.get("next_page_token", "")
        if not token:
            break
    assert sorted(seen) == ["1", "2", "3"]
    assert call(f"{url}/registered-models/alias?name=m&alias=champion", "DELETE")[0] == 200
    assert call(f"{url}/registered-models/alias?name=m&alias=champion")[0] == 404


def test_run_search_pages(server: Running) -> None:
    url = f"{server.url}{API}"
    for i in range(5):
        run = call(f"{url}/runs/create", "POST", {"experiment_id": "0"})[1]["run"]["info"]["run_id"]
        batch = {"run_id": run, "metrics": [{"key": "rmse", "value": i, "timestamp": 1, "step": 0}]}
        assert call(f"{url}/runs/log-batch", "POST", batch)[0] == 200
    seen, token = [], None
    while True:
        request = {
            "experiment_ids": ["0"],
            "filter": "metrics.rmse >= 1",
            "order_by": ["metrics.rmse DESC"],
            "max_results": 2,
        }
        if token:
            request["page_token"] = token
        status, body = call(f"{url}/runs/search", "POST", request)
        assert status == 200, body
        seen += [r["data"]["metrics"][0]["value"] for r in body.get("runs", [])]
        token = body.get("next_page_token")
        if not token:
            break
    assert seen == [4, 3, 2, 1]
