"""Optional libraries: import them on first use, or say which extra installs them.

Every optional import in modelpack goes through :func:`require`, so a missing library is always
a :class:`~modelpack.exceptions.MissingDependencyError` that names the pip extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from modelpack.exceptions import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str | None, *, purpose: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` naming ``extra``.

    Parameters
    ----------
    module : str
        The importable name, e.g. ``"pandas"`` or ``"uvicorn"``.
    extra : str or None
        The modelpack extra that installs it (``"serve"``, ``"batch"``, ...); None when no
        extra does, and the message then names the package itself.
    purpose : str, optional
        What needs it, for the message ("serving", "reading Parquet", ...).
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        hint = f'pip install "modelpack[{extra}]"' if extra else f"pip install {top}"
        needs = purpose or "this operation"
        raise MissingDependencyError(
            f"{needs} needs {top}, which is not installed; run: {hint}", extra=extra
        ) from e
