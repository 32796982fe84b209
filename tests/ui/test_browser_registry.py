"""The registry pages: the model card, the diff, and writes that need the token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.ui.conftest import TOKEN, UI, _start


def _models_versions(ui: UI) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "modelpack", "models", "versions", "ui-model"],
        capture_output=True,
        text=True,
        env={**os.environ, **ui.env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _sign_in(page: Any) -> None:
    page.fill("#token-input", TOKEN)
    page.click("#session button[type='submit']")
    page.wait_for_selector("#session >> text=Sign out")


def test_models_list_and_version_card(page: Any, ui: UI) -> None:
    page.goto(f"{ui.url}/models")
    page.click("#models a >> text=ui-model")
    page.wait_for_selector("#versions")
    page.click("#versions a >> text=v1")
    page.wait_for_selector("#files")
    assert "sklearn" in page.inner_text("#flavors")
    assert "MLmodel" in page.inner_text("#files")
    assert "sha256:" in page.inner_text("#files")
    assert page.inner_text("#input-example").strip()
    snippets = page.inner_text("#snippets")
    for text in ("load_model", "modelpack serve", "modelpack predict", "modelpack pack"):
        assert text in snippets


def test_diff_of_two_versions_highlights_changes(page: Any, ui: UI) -> None:
    page.goto(f"{ui.url}/model?name=ui-model")
    page.click("#diff-form button")
    page.wait_for_selector("#diff-table table")
    changed = page.locator("#diff-table tr[data-changed='true'] th").all_inner_texts()
    assert "param: depth" in changed and "run" in changed


def test_setting_an_alias_in_the_ui_shows_in_the_cli(page: Any, ui: UI) -> None:
    page.goto(f"{ui.url}/version?name=ui-model&version=2")
    page.wait_for_selector("#version-actions >> text=Sign in with the token")
    assert page.locator("#alias-form").count() == 0
    _sign_in(page)
    page.fill("#alias-name", "champion")
    page.click("#alias-form button")
    page.wait_for_selector("#status >> text=Saved.")
    assert "champion" in _models_versions(ui)
    # move it to version 1, and transition 1 to Staging
    page.goto(f"{ui.url}/version?name=ui-model&version=1")
    page.fill("#alias-name", "champion")
    page.click("#alias-form button")
    page.wait_for_selector("#status >> text=Saved.")
    page.select_option("#stage-select", "Staging")
    page.click("#stage-form button")
    page.wait_for_function(
        "() => document.querySelector('#stage-select') && "
        "document.querySelector('#main dl.facts').textContent.includes('Staging')"
    )
    out = _models_versions(ui)
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line}
    assert "champion" in lines["1"] and "champion" not in lines["2"]
    assert "Staging" in lines["1"]


def test_editing_a_description_with_markup_shows_it_as_text(page: Any, ui: UI) -> None:
    page.goto(f"{ui.url}/version?name=ui-model&version=1")
    page.wait_for_selector("#session")
    if page.locator("#token-input").count():
        _sign_in(page)
    page.fill("#description-text", "<img src=x onerror=alert(1)><script>alert(1)</script>")
    page.click("#description-form button")
    page.wait_for_function(
        "() => document.querySelector('#main dl.facts').textContent.includes('<script>')"
    )
    assert page.locator("#main dl.facts img").count() == 0
    assert page.dialogs == []


def test_read_only_ui_offers_no_actions(page: Any, readonly_ui: UI) -> None:
    page.goto(f"{readonly_ui.url}/version?name=ui-model&version=1")
    page.wait_for_selector("#version-actions >> text=Read-only")
    assert page.locator("#alias-form").count() == 0
    assert page.inner_text("#session") == "Read-only"


def test_a_transition_can_archive_the_version_in_that_stage(page: Any, ui: UI) -> None:
    for version, archive in ((1, False), (2, True)):
        page.goto(f"{ui.url}/version?name=ui-model&version={version}")
        page.wait_for_selector("#session")
        if page.locator("#token-input").count():
            _sign_in(page)
        page.select_option("#stage-select", "Production")
        if archive:
            page.check("#archive-existing")
        page.click("#stage-form button")
        page.wait_for_function(
            "() => document.querySelector('#main dl.facts').textContent.includes('Production')"
        )
    out = _models_versions(ui)
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line}
    assert "Production" in lines["2"] and "Archived" in lines["1"]


def test_the_models_list_pages_past_its_first_hundred(page: Any, tmp_path: Path) -> None:
    from modelpack._store import get_store

    store = get_store(str(tmp_path / "store"))
    for i in range(105):
        store.create_registered_model(f"model-{i:03d}", description=None, tags={})
    store.close()
    url, process = _start(tmp_path / "store", tmp_path / "ui.log")
    try:
        page.goto(f"{url}/models")
        page.wait_for_function("() => document.body.dataset.ready === '1'")
        assert page.locator("#models tbody tr").count() == 100
        page.click("#more-models")
        page.wait_for_function("() => document.querySelectorAll('#models tbody tr').length === 105")
        assert page.locator("#more-models").is_hidden()
        assert page.locator(".pager").is_hidden()
        assert page.inner_text("#models tbody tr:last-child td:first-child") == "model-104"
    finally:
        process.terminate()
        process.wait(timeout=30)
