"""The web UI: runs, comparisons and the model registry in a browser (``modelpack ui``).

Server-rendered page shells with vanilla JavaScript; the data comes from the UI's own JSON
endpoints, which call the store interface (``modelpack._store``). Charts are drawn with the
vendored Apache ECharts in ``static/vendor``. Starlette and uvicorn come from the ``ui`` extra
and are imported only when an app is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from modelpack.ui._app import create_app
else:

    def create_app(*args: Any, **kwargs: Any) -> Any:
        from modelpack.ui._app import create_app as _create

        return _create(*args, **kwargs)
