"""The run page: facts, the history chart, the artifact browser and its previews."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import UI

INJECTION = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def model_run_id(ui: UI) -> str:
    status, body = ui.call("/ui/api/runs?filter=run_name%20%3D%20%27run-00%27")
    assert status == 200
    return body["runs"][0]["run_id"]


def _open(page: Any, ui: UI, run_id: str) -> None:
    page.goto(f"{ui.url}/runs/{run_id}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")


def test_run_page_shows_params_metrics_history_and_models(
    page: Any, ui: UI, model_run_id: str
) -> None:
    _open(page, ui, model_run_id)
    assert page.inner_text("#title") == "Run run-00"
    assert "alpha" in page.inner_text("#section-params")
    page.select_option("#run-metric", "rmse")
    page.wait_for_function(
        "() => document.getElementById('run-history-chart').dataset.drawn === 'rmse:step'"
    )
    points = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById('run-history-chart'))
            .getOption().series[0].data.length"""
    )
    assert points == 4
    assert "sklearn" in page.inner_text("#section-models")
    assert f"runs:/{model_run_id}/model" in page.inner_text("#section-models")


def test_artifact_browser_previews_text_and_json_as_text(
    page: Any, ui: UI, model_run_id: str
) -> None:
    _open(page, ui, model_run_id)
    page.click("#artifact-list button[data-path='notes']")
    page.click("#artifact-list button[data-path='notes/readme.txt']")
    page.wait_for_selector("#artifact-text")
    assert page.inner_text("#artifact-text").strip() == "hello artifact"
    page.click("#artifact-list button[aria-label='Up one folder']")
    page.click("#artifact-list button[data-path='info.json']")
    page.wait_for_function(
        "() => document.getElementById('artifact-preview').dataset.shown === 'info.json'"
    )
    assert INJECTION in page.inner_text("#artifact-text")
    assert page.locator("#artifact-preview script").count() == 0
    assert page.dialogs == []
    href = page.get_attribute("#artifact-preview a[download]", "href")
    assert href is not None and "download=1" in href


def test_unknown_run_shows_an_error(page: Any, ui: UI) -> None:
    page.goto(f"{ui.url}/runs/0123456789abcdef")
    page.wait_for_selector("#status .error")
    assert "0123456789abcdef" in page.inner_text("#status")


def test_artifact_browser_shows_images(page: Any, ui: UI, model_run_id: str) -> None:
    _open(page, ui, model_run_id)
    page.click("#artifact-list button[data-path='plots']")
    page.click("#artifact-list button[data-path='plots/pixel.png']")
    page.wait_for_function(
        "() => { const i = document.querySelector('#artifact-preview img'); "
        "return i && i.complete && i.naturalWidth === 1; }"
    )
