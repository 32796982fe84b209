"""The runs page in a real headless Chromium: sorting, filtering, selection, escaping."""

from __future__ import annotations

import urllib.parse
from typing import Any

from tests.ui.conftest import UI

INJECTION = "<script>alert(1)</script>"


def _open_runs(page: Any, ui: UI, query: str = "") -> None:
    page.goto(f"{ui.url}/{query}")
    page.wait_for_selector("#runs tbody tr")


def _column(page: Any, name: str) -> list[str]:
    return page.eval_on_selector_all(
        "#runs tbody tr",
        """(rows, name) => {
            const heads = [...document.querySelectorAll('#runs thead th')].map(th => th.textContent.replace(/[▲▼]/g, '').trim());
            const at = heads.indexOf(name);
            return rows.map(r => r.children[at].textContent);
        }""",
        name,
    )


def _wait_ready_after(page: Any, action: Any) -> None:
    before = page.evaluate("document.body.dataset.ready || '0'")
    action()
    page.wait_for_function("(b) => (document.body.dataset.ready || '0') !== b", arg=before)


def test_sorting_by_a_metric_header_changes_the_order(page: Any, ui: UI) -> None:
    _open_runs(page, ui)
    button = page.locator("#runs thead button[data-column='metrics.rmse']")
    _wait_ready_after(page, button.click)
    ascending = [float(v) for v in _column(page, "metrics.rmse")]
    assert ascending == sorted(ascending) and len(ascending) == 24
    _wait_ready_after(page, page.locator("#runs thead button[data-column='metrics.rmse']").click)
    descending = [float(v) for v in _column(page, "metrics.rmse")]
    assert descending == sorted(descending, reverse=True)
    assert "order_by=metrics.rmse" in page.url


def test_filter_narrows_rows_and_a_bad_filter_shows_inline(page: Any, ui: UI) -> None:
    _open_runs(page, ui)
    page.fill("#filter", "metrics.rmse < 5")
    _wait_ready_after(page, lambda: page.press("#filter", "Enter"))
    assert page.locator("#runs tbody tr").count() == 6
    page.fill("#filter", "metrics.rmse <<< 5 and")
    _wait_ready_after(page, lambda: page.click("#apply-filter"))
    error = page.locator("#filter-error")
    assert error.inner_text().strip() != ""
    assert "rmse" in error.inner_text() or "filter" in error.inner_text().lower()


def test_a_tag_holding_markup_shows_as_text(page: Any, ui: UI) -> None:
    _open_runs(page, ui)
    page.click("details.columns summary")
    _wait_ready_after(page, lambda: page.check("#col-tags-note"))
    cells = _column(page, "tags.note")
    assert INJECTION in cells
    assert page.locator("#runs script").count() == 0
    assert page.dialogs == []


def test_selected_runs_open_the_compare_page(page: Any, ui: UI) -> None:
    _open_runs(page, ui)
    boxes = page.locator("#runs tbody input.pick")
    for i in range(3):
        boxes.nth(i).check()
    assert page.inner_text("#compare") == "Compare selected (3)"
    page.click("#compare")
    page.wait_for_url("**/compare?run_ids=*")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert len(query["run_ids"][0].split(",")) == 3


def test_keyboard_reaches_the_filter_and_sort_controls(page: Any, ui: UI) -> None:
    _open_runs(page, ui)
    page.focus("#filter")
    page.keyboard.type("metrics.mae > 1")
    _wait_ready_after(page, lambda: page.keyboard.press("Enter"))
    assert page.locator("#runs tbody tr").count() < 24
    assert page.get_attribute("#filter", "aria-describedby") == "filter-error"
    assert page.locator("label[for='filter']").count() == 1
