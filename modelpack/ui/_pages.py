"""The HTML shells of the pages: a header, an empty main area, and the page's script.

Nothing from the store is written into the HTML: each page's script fetches its data from
``/ui/api`` and builds the DOM with ``textContent``. The only substituted values are the
page's own constants and the mount point (``root_path``), HTML-escaped all the same.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, NamedTuple

from modelpack._version import __version__

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["PAGES", "Page", "page_routes"]

_HERE = Path(__file__).parent


class Page(NamedTuple):
    path: str
    name: str
    title: str
    charts: bool
    #: page scripts loaded before the page's own one
    helpers: tuple[str, ...] = ()


PAGES = (
    Page("/", "runs", "Runs", False),
    Page("/compare", "compare", "Compare runs", True),
    Page("/runs/{run_id}", "run", "Run", True),
    Page("/models", "models", "Registered models", False),
    Page("/model", "model", "Registered model", False, ("registry_actions",)),
    Page("/version", "version", "Model version", False, ("registry_actions",)),
    Page("/diff", "diff", "Compare versions", False),
)


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template((_HERE / "templates" / "page.html").read_text(encoding="utf-8"))


def render(page: Page, root: str) -> str:
    static = f"{html.escape(root)}/ui/static"
    charts = (
        f'<script src="{static}/vendor/echarts-6.1.0.min.js" defer></script>\n'
        f'<script src="{static}/charts.js" defer></script>'
        if page.charts
        else ""
    )
    for helper in page.helpers:
        charts += f'\n<script src="{static}/{helper}.js" defer></script>'

    return _template().substitute(
        root=html.escape(root),
        page=page.name,
        title=html.escape(page.title),
        charts=charts,
        version=html.escape(__version__),
    )


def page_routes() -> list[Any]:
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    def endpoint_for(page: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            root = str(request.scope.get("root_path") or "").rstrip("/")
            return HTMLResponse(render(page, root))

        return endpoint

    return [Route(p.path, endpoint_for(p), methods=["GET", "HEAD"]) for p in PAGES]
