"""Every page, signed in (all controls shown): each control has an accessible name, each
table has header cells, and the dark colour scheme really changes the colours."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import TOKEN, UI

#: controls without a name a screen reader can say, as "tag#id.class (outer HTML start)"
_UNNAMED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
    .filter((e) => e.offsetParent !== null || e.getClientRects().length)
    .filter((e) => {
        const labelled = e.labels && [...e.labels].some((l) => l.textContent.trim());
        const named = (e.getAttribute('aria-label') || '').trim()
            || (e.getAttribute('aria-labelledby') || '').trim()
            || (e.title || '').trim();
        const text = ['BUTTON', 'A'].includes(e.tagName) && e.textContent.trim();
        return !(labelled || named || text);
    })
    .map((e) => e.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="module")
def paths(ui: UI) -> list[str]:
    query = urllib.parse.urlencode({"order_by": "metrics.rmse ASC", "max_results": 3})
    status, body = ui.call(f"/ui/api/runs?{query}")
    assert status == 200
    ids = [r["run_id"] for r in body["runs"]]
    return [
        "/",
        f"/compare?run_ids={','.join(ids)}",
        f"/runs/{ids[0]}",
        "/models",
        "/model?name=ui-model",
        "/version?name=ui-model&version=1",
        "/diff?name=ui-model&a=1&b=2",
    ]


@pytest.fixture
def signed_in(page: Any, ui: UI) -> Iterator[Any]:
    page.goto(ui.url + "/models")
    page.fill("#token-input", TOKEN)
    page.click("#session button[type='submit']")
    page.wait_for_selector("#session >> text=Sign out")
    yield page


def _load(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => (document.body.dataset.ready || '0') !== '0'")
    page.wait_for_load_state("networkidle")


def test_every_control_has_a_name_and_tables_have_headers(
    signed_in: Any, ui: UI, paths: list[str]
) -> None:
    for path in paths:
        _load(signed_in, ui.url + path)
        assert signed_in.evaluate(_UNNAMED) == [], path
        headless = signed_in.evaluate(
            "() => [...document.querySelectorAll('table')]"
            ".filter((t) => !t.querySelector('th')).length"
        )
        assert headless == 0, path
        assert signed_in.locator("a.skip, a[href='#main']").count() >= 1, path
    # the check itself finds an unnamed control
    signed_in.evaluate(
        "() => document.getElementById('main').append(document.createElement('input'))"
    )
    assert len(signed_in.evaluate(_UNNAMED)) == 1


def test_the_dark_scheme_changes_page_colours(browser: Any, ui: UI, paths: list[str]) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        _load(page, ui.url + paths[0])
        colours[scheme] = page.evaluate(
            "() => [getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle(document.body).color]"
        )
        context.close()
    assert colours["light"][0] != colours["dark"][0]
    assert colours["light"][1] != colours["dark"][1]
