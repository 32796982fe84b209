"""Errors raised by modelpack.

Every error is a :class:`ModelpackError`. Each subclass also inherits the built-in exception
that matches its meaning, so ``except LookupError`` keeps working for code that does not know
modelpack::

    ModelpackError(Exception)
    ├── ManifestError(ValueError)            the MLmodel file is missing, unreadable or invalid
    ├── FlavorNotFoundError(LookupError)     no flavor of that name, or none can save the object
    ├── MissingDependencyError(ImportError)  an optional library is not installed (names the extra)
    ├── SchemaError(ValueError)              input does not match the model's signature
    ├── IntegrityError                       a file's digest does not match, or a file is missing
    ├── ModelNotFoundError(LookupError)      a URI names a model, version, alias or run that is absent
    ├── ModelExistsError(FileExistsError)    saving onto an existing model without overwrite=True
    ├── UnsafeModelError(PermissionError)    loading would unpickle while pickle is disallowed
    ├── EnvironmentMismatchError(RuntimeError) running environment differs (strict_env=True)
    ├── StoreError(RuntimeError)             the run/registry store refused or failed an operation
    ├── UnsafeArchiveError(ValueError)       an archive member would escape its target directory
    └── FlavorExistsError(ValueError)        a flavor is registered under a name already taken

Warnings use :class:`ModelpackWarning` (a ``UserWarning``), issued with :func:`warn` so that they
point at the caller's line rather than at modelpack's internals.
"""

from __future__ import annotations

import sys
import warnings

__all__ = [
    "EnvironmentMismatchError",
    "FlavorExistsError",
    "FlavorNotFoundError",
    "IntegrityError",
    "ManifestError",
    "MissingDependencyError",
    "ModelExistsError",
    "ModelNotFoundError",
    "ModelpackError",
    "ModelpackWarning",
    "SchemaError",
    "StoreError",
    "UnsafeArchiveError",
    "UnsafeModelError",
    "warn",
]


class ModelpackError(Exception):
    """Base class of every error modelpack raises."""


class ModelpackWarning(UserWarning):
    """Warnings about a model or its environment that do not stop the operation."""


class ManifestError(ModelpackError, ValueError):
    """The ``MLmodel`` manifest is missing, unreadable or invalid."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class FlavorNotFoundError(ModelpackError, LookupError):
    """No flavor is registered under a name, or no flavor can save a given object."""

    def __init__(self, message: str, *, flavor: str | None = None) -> None:
        super().__init__(message)
        self.flavor = flavor


class MissingDependencyError(ModelpackError, ImportError):
    """An optional library needed for this operation is not installed."""

    def __init__(self, message: str, *, extra: str | None = None) -> None:
        super().__init__(message)
        self.extra = extra


class SchemaError(ModelpackError, ValueError):
    """Model input does not match the model's signature."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class IntegrityError(ModelpackError):
    """A file in a model directory does not match the digest recorded in its manifest."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ModelNotFoundError(ModelpackError, LookupError):
    """A URI names a model, version, alias, stage or run that does not exist."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class ModelExistsError(ModelpackError, FileExistsError):
    """A model already exists at the target path and ``overwrite=True`` was not given."""


class UnsafeModelError(ModelpackError, PermissionError):
    """Loading would deserialize a pickle while pickle loading is disallowed."""


class EnvironmentMismatchError(ModelpackError, RuntimeError):
    """The running environment differs from the one the model was saved with."""


class StoreError(ModelpackError, RuntimeError):
    """The run and model registry store refused or failed an operation."""


class UnsafeArchiveError(ModelpackError, ValueError):
    """An archive member would be written outside its target directory, or is a device."""


class FlavorExistsError(ModelpackError, ValueError):
    """A flavor is registered (in code or by an entry point) under a name already taken."""

    def __init__(self, message: str, *, flavor: str | None = None) -> None:
        super().__init__(message)
        self.flavor = flavor


def warn(message: str, category: type[Warning] = ModelpackWarning) -> None:
    """Issue ``message`` attributed to the first stack frame outside modelpack."""
    frame = sys._getframe(1)
    level = 2  # 1 would be this function itself
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("modelpack"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
