"""The UI's JSON endpoints, against a real ``modelpack ui`` process (no browser)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import TOKEN, UI


def _runs(ui: UI, **query: str) -> list[dict]:
    status, body = ui.call("/ui/api/runs?" + urllib.parse.urlencode(query))
    assert status == 200, body
    return body["runs"]


def test_pages_are_served_with_a_strict_content_security_policy(ui: UI) -> None:
    import urllib.request

    for path in ("/", "/compare", "/models", "/model?name=x", "/version", "/diff", "/runs/abc"):
        with urllib.request.urlopen(ui.url + path) as response:
            assert response.status == 200
            assert "script-src 'self'" in response.headers["content-security-policy"]
            assert response.headers["x-content-type-options"] == "nosniff"
    with urllib.request.urlopen(ui.url + "/ui/static/vendor/echarts-6.1.0.min.js") as response:
        assert response.status == 200


@pytest.mark.parametrize(
    ("order_by", "descending"), [("metrics.rmse ASC", False), ("metrics.rmse DESC", True)]
)
def test_runs_sort_on_the_server(ui: UI, order_by: str, descending: bool) -> None:
    runs = _runs(ui, order_by=order_by, max_results="100")
    values = [r["metrics"]["rmse"] for r in runs]
    assert len(values) == 24
    assert values == sorted(values, reverse=descending)


def test_runs_page_through_with_tokens(ui: UI) -> None:
    seen: list[str] = []
    token = ""
    while True:
        status, body = ui.call(
            "/ui/api/runs?" + urllib.parse.urlencode({"max_results": 10, "page_token": token})
        )
        assert status == 200
        seen += [r["run_id"] for r in body["runs"]]
        token = body["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) == 24


def test_filter_narrows_and_a_bad_filter_is_a_filter_error(ui: UI) -> None:
    assert len(_runs(ui, filter="metrics.rmse < 5", max_results="100")) == 6
    status, body = ui.call("/ui/api/runs?filter=" + urllib.parse.quote("metrics.rmse <"))
    assert status == 400
    assert body["kind"] == "filter" and "rmse" in body["error"]


def test_columns_list_every_key(ui: UI) -> None:
    _status, body = ui.call("/ui/api/runs")
    assert body["columns"]["metrics"] == ["mae", "rmse"]
    assert body["columns"]["params"] == ["alpha", "depth"]
    assert "note" in body["columns"]["tags"]


def test_compare_and_metric_history(ui: UI) -> None:
    ids = [r["run_id"] for r in _runs(ui, max_results="3")]
    status, body = ui.call("/ui/api/compare?run_ids=" + ",".join(ids))
    assert status == 200 and [r["run_id"] for r in body["runs"]] == ids
    status, body = ui.call(f"/ui/api/metric-history?key=rmse&run_ids={','.join(ids)}")
    assert status == 200
    assert all(len(body["histories"][i]) == 4 for i in ids)
    status, body = ui.call("/ui/api/compare?run_ids=nope")
    assert status == 404


def _model_run(ui: UI) -> str:
    runs = _runs(ui, filter="run_name = 'run-00'")
    return runs[0]["run_id"]


def test_run_detail_lists_system_facts_and_logged_models(ui: UI) -> None:
    status, body = ui.call(f"/ui/api/runs/{_model_run(ui)}")
    assert status == 200
    assert body["system"]["duration_ms"] is not None
    assert [m["artifact_path"] for m in body["logged_models"]] == ["model"]
    assert body["experiment_name"] == "ui-test"


def test_artifacts_list_preview_and_download(ui: UI) -> None:
    run_id = _model_run(ui)
    status, body = ui.call(f"/ui/api/runs/{run_id}/artifacts")
    assert status == 200
    names = {f["name"]: f for f in body["files"]}
    assert names["info.json"]["preview"] == "json" and names["notes"]["is_dir"]
    _status, raw = ui.call(f"/ui/api/runs/{run_id}/artifacts?path=notes")
    assert [f["path"] for f in raw["files"]] == ["notes/readme.txt"]
    import urllib.request

    with urllib.request.urlopen(
        f"{ui.url}/ui/api/runs/{run_id}/artifact?path=notes/readme.txt"
    ) as response:
        assert response.read() == b"hello artifact\n"
        assert response.headers["content-type"].startswith("text/plain")
    with urllib.request.urlopen(
        f"{ui.url}/ui/api/runs/{run_id}/artifact?path=info.json&download=1"
    ) as response:
        assert response.headers["content-type"] == "application/octet-stream"
        assert "attachment" in response.headers["content-disposition"]


@pytest.mark.parametrize(
    "path",
    ["../../../../etc/passwd", "/etc/passwd", "notes/../../x", "..", "notes/../../../modelpack.db"],
    ids=["climb", "absolute", "inner-climb", "dotdot", "database"],
)
def test_artifact_paths_cannot_leave_the_run(ui: UI, path: str) -> None:
    run_id = _model_run(ui)
    for endpoint in ("artifact", "artifacts"):
        status, body = ui.call(f"/ui/api/runs/{run_id}/{endpoint}?path={urllib.parse.quote(path)}")
        assert status in (400, 404), body
        assert "root" not in str(body).lower() or "relative" in str(body).lower()


def test_registry_model_versions_card_and_diff(ui: UI) -> None:
    status, body = ui.call("/ui/api/models")
    assert [m["name"] for m in body["models"]] == ["ui-model"]
    status, body = ui.call("/ui/api/model?name=ui-model")
    assert [v["version"] for v in body["versions"]] == [2, 1]
    status, card = ui.call("/ui/api/version?name=ui-model&version=1")
    assert status == 200
    assert "sklearn" in card["model"]["flavors"]
    files = {f["path"]: f for f in card["model"]["files"]}
    assert files["MLmodel"]["size"] > 0
    assert any(f["digest"] for f in card["model"]["files"])
    assert card["model"]["input_example"]
    assert "models:/ui-model/1" in card["snippets"]["load"]
    assert card["run"]["params"]["alpha"] == "0.00"
    status, diff = ui.call("/ui/api/diff?name=ui-model&a=1&b=2")
    changed = {r["key"] for r in diff["rows"] if r["changed"]}
    assert "run" in changed and "param: depth" in changed
    assert "flavors" not in changed


def test_writes_need_the_token(ui: UI, readonly_ui: UI) -> None:
    body = {"name": "ui-model", "alias": "api-test", "version": 1}
    status, answer = readonly_ui.call("/ui/api/actions/set-alias", body)
    assert status == 403 and "read-only" in answer["error"]
    status, answer = ui.call("/ui/api/actions/set-alias", body)
    assert status == 401
    status, answer = ui.call(
        "/ui/api/actions/set-alias", body, headers={"Authorization": "Bearer wrong"}
    )
    assert status == 401
    status, answer = ui.call(
        "/ui/api/actions/set-alias", body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 200, answer
    status, model = ui.call("/ui/api/model?name=ui-model")
    assert model["model"]["aliases"]["api-test"] == 1
    status, answer = ui.call("/ui/api/actions/set-alias", body, method="GET")
    assert status == 405


def _signed_in_cookie(ui: UI) -> tuple[str, str]:
    import urllib.request

    request = urllib.request.Request(
        ui.url + "/ui/api/login",
        data=b'{"token": "%s"}' % TOKEN.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        cookie = response.headers["set-cookie"].split(";")[0]
        csrf = __import__("json").loads(response.read())["csrf"]
    assert "httponly" in response.headers["set-cookie"].lower()
    return cookie, csrf


def test_cookie_writes_need_the_csrf_header_and_the_same_origin(ui: UI) -> None:
    cookie, csrf = _signed_in_cookie(ui)
    body = {"name": "ui-model", "description": "from the cookie"}
    status, answer = ui.call("/ui/api/actions/set-description", body, headers={"Cookie": cookie})
    assert status == 403 and "CSRF" in answer["error"]
    status, answer = ui.call(
        "/ui/api/actions/set-description",
        body,
        headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )
    assert status == 403 and "cross-origin" in answer["error"]
    status, answer = ui.call(
        "/ui/api/actions/set-description",
        body,
        headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403 and "cross-site" in answer["error"]
    status, answer = ui.call(
        "/ui/api/actions/set-description",
        body,
        headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": ui.url},
    )
    assert status == 200, answer
    status, model = ui.call("/ui/api/model?name=ui-model")
    assert model["model"]["description"] == "from the cookie"


def test_a_wrong_login_token_is_refused(ui: UI) -> None:
    status, _answer = ui.call("/ui/api/login", {"token": "nope"})
    assert status == 401


@pytest.fixture(scope="module")
def private_ui(ui_store: Any) -> Iterator[str]:
    """The UI as a team server mounts it: reading needs a token too (in-process uvicorn)."""
    import threading

    import uvicorn

    from modelpack.ui import create_app
    from tests._services import free_port, wait_for_port

    app = create_app(ui_store, token="w-token", read_tokens=["r-token"], private=True)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def _get(url: str, headers: dict[str, str] | None = None) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_private_ui_needs_a_token_to_read(private_ui: str) -> None:
    assert _get(private_ui + "/") == 200  # the page shell holds no data
    assert _get(private_ui + "/ui/api/runs") == 401
    assert _get(private_ui + "/ui/api/models") == 401
    assert _get(private_ui + "/ui/api/runs", {"Authorization": "Bearer nope"}) == 401
    assert _get(private_ui + "/ui/api/runs", {"Authorization": "Bearer r-token"}) == 200
    assert _get(private_ui + "/ui/api/runs", {"Authorization": "Bearer w-token"}) == 200


def test_a_read_only_token_cannot_write(private_ui: str) -> None:
    import json
    import urllib.error
    import urllib.request

    body = json.dumps({"name": "ui-model", "alias": "ro", "version": 1}).encode()
    request = urllib.request.Request(
        private_ui + "/ui/api/actions/set-alias",
        data=body,
        method="POST",
        headers={"Authorization": "Bearer r-token", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 403
    assert "read-only" in json.loads(caught.value.read())["error"]
