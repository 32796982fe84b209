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
    │   └── StoreUnavailableError            the store's database server cannot be reached now
    │                                        (try again later: the next call reconnects)
    ├── UnsafeArchiveError(ValueError)       an archive member would escape its target directory
    ├── FlavorExistsError(ValueError)        a flavor is registered under a name already taken
    ├── NotSupportedError(AttributeError)    an MLflow name modelpack does not implement (says
    │                                        what to use instead)
    └── RestException                        an error answer from a tracking server (MLflow's
                                             REST error body: its code and message)

Each error has an ``error_code``, the name of a code of MLflow's ``ErrorCode`` enum. The class
defaults: ``INVALID_PARAMETER_VALUE`` for ManifestError, SchemaError and UnsafeArchiveError;
``RESOURCE_DOES_NOT_EXIST`` for ModelNotFoundError and FlavorNotFoundError;
``RESOURCE_ALREADY_EXISTS`` for ModelExistsError and FlavorExistsError; ``PERMISSION_DENIED``
for UnsafeModelError; ``NOT_IMPLEMENTED`` for NotSupportedError; ``TEMPORARILY_UNAVAILABLE``
for StoreUnavailableError (HTTP 503); ``INTERNAL_ERROR`` for the
rest. A raise may give a more precise one (``StoreError(..., error_code="INVALID_PARAMETER_VALUE")``).
An error class defined elsewhere in modelpack gets its default from the built-in it inherits (a
``ValueError`` is ``INVALID_PARAMETER_VALUE``, a ``LookupError`` ``RESOURCE_DOES_NOT_EXIST``).

MLflow compatibility: ``MlflowException`` is another name for :class:`ModelpackError`, so
``except MlflowException`` catches every modelpack error and ``raise MlflowException("...",
error_code="INVALID_PARAMETER_VALUE")`` works; like MLflow's, every error has ``.message``,
``get_http_status_code()`` (MLflow's code-to-status mapping: a missing resource is 404, a bad
parameter 400, ...) and ``serialize_as_json()`` (the REST error body).

Warnings use :class:`ModelpackWarning` (a ``UserWarning``), issued with :func:`warn` so that they
point at the caller's line rather than at modelpack's internals.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

__all__ = [
    "ERROR_CODES",
    "EnvironmentMismatchError",
    "FlavorExistsError",
    "FlavorNotFoundError",
    "IntegrityError",
    "ManifestError",
    "MissingDependencyError",
    "MlflowException",
    "ModelExistsError",
    "ModelNotFoundError",
    "ModelpackError",
    "ModelpackWarning",
    "NotSupportedError",
    "RestException",
    "SchemaError",
    "StoreError",
    "StoreUnavailableError",
    "UnsafeArchiveError",
    "UnsafeModelError",
    "http_status",
    "warn",
]

#: MLflow's error codes (the ``ErrorCode`` enum of its protocol) that modelpack raises or a
#: tracking server answers with: name -> number. ``error_code=`` takes either form.
ERROR_CODES: dict[str, int] = {
    "INTERNAL_ERROR": 1,
    "TEMPORARILY_UNAVAILABLE": 2,
    "IO_ERROR": 3,
    "BAD_REQUEST": 4,
    "DEADLINE_EXCEEDED": 7,
    "CANCELLED": 8,
    "RESOURCE_EXHAUSTED": 9,
    "ABORTED": 10,
    "NOT_FOUND": 11,
    "ALREADY_EXISTS": 12,
    "UNAUTHENTICATED": 13,
    "INVALID_PARAMETER_VALUE": 1000,
    "ENDPOINT_NOT_FOUND": 1001,
    "MALFORMED_REQUEST": 1002,
    "INVALID_STATE": 1003,
    "PERMISSION_DENIED": 1004,
    "FEATURE_DISABLED": 1005,
    "CUSTOMER_UNAUTHORIZED": 1006,
    "REQUEST_LIMIT_EXCEEDED": 1007,
    "RESOURCE_CONFLICT": 1008,
    "NOT_IMPLEMENTED": 1010,
    "DATA_LOSS": 1011,
    "INVALID_STATE_TRANSITION": 2001,
    "RESOURCE_ALREADY_EXISTS": 3001,
    "RESOURCE_DOES_NOT_EXIST": 3002,
}
_CODE_NAMES = {number: name for name, number in ERROR_CODES.items()}

# MLflow's HTTP status for each code; any other code is 500. (It answers 400, not 409, for
# RESOURCE_ALREADY_EXISTS: a team server must do the same for MLflow clients to behave.)
_HTTP_STATUS: dict[str, int] = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "CUSTOMER_UNAUTHORIZED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_CONFLICT": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

# an HTTP status sent where a code belongs -> the code MLflow reads it as
_STATUS_CODES: dict[str, str] = {
    "400": "BAD_REQUEST",
    "401": "UNAUTHENTICATED",
    "403": "PERMISSION_DENIED",
    "404": "ENDPOINT_NOT_FOUND",
    "409": "ALREADY_EXISTS",
    "429": "RESOURCE_EXHAUSTED",
    "499": "CANCELLED",
    "500": "INTERNAL_ERROR",
    "501": "NOT_IMPLEMENTED",
    "503": "TEMPORARILY_UNAVAILABLE",
    "504": "DEADLINE_EXCEEDED",
}

# the default code of an error class defined outside this module, from the built-in it inherits
_BUILTIN_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (FileExistsError, "RESOURCE_ALREADY_EXISTS"),
    (PermissionError, "PERMISSION_DENIED"),
    (LookupError, "RESOURCE_DOES_NOT_EXIST"),
    (ValueError, "INVALID_PARAMETER_VALUE"),
    (NotImplementedError, "NOT_IMPLEMENTED"),
)


def http_status(error_code: str) -> int:
    """The HTTP status MLflow answers with for ``error_code`` (500 for a code it does not map)."""
    return _HTTP_STATUS.get(error_code, 500)


def _code_name(error_code: str | int | None, default: str) -> str:
    if error_code is None:
        return default
    if isinstance(error_code, int):
        return _CODE_NAMES.get(error_code, "INTERNAL_ERROR")
    # like MLflow, an unknown code is INTERNAL_ERROR rather than a second error while raising
    return error_code if error_code in ERROR_CODES else "INTERNAL_ERROR"


class ModelpackError(Exception):
    """Base class of every error modelpack raises (also importable as ``MlflowException``).

    Parameters
    ----------
    message : str
        What went wrong and how to fix it.
    error_code : str or int, optional
        An MLflow error code, by name (``"RESOURCE_DOES_NOT_EXIST"``) or number; default: the
        class's ``error_code``.
    """

    #: the MLflow error code name of this kind of error (see the module docstring)
    error_code: str = "INTERNAL_ERROR"

    def __init__(self, message: object = "", error_code: str | int | None = None) -> None:
        super().__init__(message)
        if error_code is not None:
            self.error_code = _code_name(error_code, type(self).error_code)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "error_code" in cls.__dict__ or cls.error_code != "INTERNAL_ERROR":
            return
        for builtin, code in _BUILTIN_CODES:
            if issubclass(cls, builtin):
                cls.error_code = code
                return

    @property
    def message(self) -> str:
        """The error message (MLflow's attribute)."""
        return str(self.args[0]) if self.args else ""

    def get_http_status_code(self) -> int:
        """The HTTP status a server answers with for this error (MLflow's mapping)."""
        return http_status(self.error_code)

    def serialize_as_json(self) -> str:
        """The error as MLflow's REST API returns it: ``{"error_code": ..., "message": ...}``."""
        return json.dumps({"error_code": self.error_code, "message": self.message})

    @classmethod
    def invalid_parameter_value(cls, message: str) -> ModelpackError:
        """This error with the code ``INVALID_PARAMETER_VALUE`` (MLflow's helper)."""
        return cls(message, error_code="INVALID_PARAMETER_VALUE")


#: MLflow's name for the base error: ``except MlflowException`` catches every modelpack error.
MlflowException = ModelpackError


class ModelpackWarning(UserWarning):
    """Warnings about a model or its environment that do not stop the operation."""


class ManifestError(ModelpackError, ValueError):
    """The ``MLmodel`` manifest is missing, unreadable or invalid."""

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(
        self, message: str, *, path: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.path = path


class FlavorNotFoundError(ModelpackError, LookupError):
    """No flavor is registered under a name, or no flavor can save a given object."""

    error_code = "RESOURCE_DOES_NOT_EXIST"

    def __init__(
        self, message: str, *, flavor: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.flavor = flavor


class MissingDependencyError(ModelpackError, ImportError):
    """An optional library needed for this operation is not installed."""

    error_code = "INTERNAL_ERROR"

    def __init__(
        self, message: str, *, extra: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.extra = extra


class SchemaError(ModelpackError, ValueError):
    """Model input does not match the model's signature."""

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(
        self, message: str, *, column: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.column = column


class IntegrityError(ModelpackError):
    """A file in a model directory does not match the digest recorded in its manifest."""

    error_code = "INTERNAL_ERROR"

    def __init__(
        self, message: str, *, path: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.path = path


class ModelNotFoundError(ModelpackError, LookupError):
    """A URI names a model, version, alias, stage or run that does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"

    def __init__(
        self, message: str, *, uri: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.uri = uri


class ModelExistsError(ModelpackError, FileExistsError):
    """A model already exists at the target path and ``overwrite=True`` was not given."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class UnsafeModelError(ModelpackError, PermissionError):
    """Loading would deserialize a pickle while pickle loading is disallowed."""

    error_code = "PERMISSION_DENIED"


class EnvironmentMismatchError(ModelpackError, RuntimeError):
    """The running environment differs from the one the model was saved with."""

    error_code = "INTERNAL_ERROR"


class StoreError(ModelpackError, RuntimeError):
    """The run and model registry store refused or failed an operation."""

    error_code = "INTERNAL_ERROR"


class StoreUnavailableError(StoreError):
    """The store's database server cannot be reached (down, restarting, network); nothing was
    written. The next call connects again, so retrying later is the fix."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class UnsafeArchiveError(ModelpackError, ValueError):
    """An archive member would be written outside its target directory, or is a device."""

    error_code = "INVALID_PARAMETER_VALUE"


class FlavorExistsError(ModelpackError, ValueError):
    """A flavor is registered (in code or by an entry point) under a name already taken."""

    error_code = "RESOURCE_ALREADY_EXISTS"

    def __init__(
        self, message: str, *, flavor: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.flavor = flavor


class NotSupportedError(ModelpackError, AttributeError):
    """An MLflow name that modelpack does not implement; the message says what to use instead.

    An ``AttributeError`` too, so ``hasattr`` stays False and tools that probe attributes work.
    """

    error_code = "NOT_IMPLEMENTED"

    def __init__(
        self, message: str, *, name: str | None = None, error_code: str | int | None = None
    ) -> None:
        super().__init__(message, error_code)
        self.name = name


class RestException(ModelpackError):
    """An error answer from a tracking server, built from its JSON body (as MLflow's is).

    Parameters
    ----------
    json : dict
        The body: ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}``; an HTTP status
        in ``error_code`` is read as the code MLflow gives that status.
    """

    def __init__(self, json: dict[str, Any]) -> None:
        self.json = json
        raw = json.get("error_code") or "INTERNAL_ERROR"
        code = str(raw)
        if code not in ERROR_CODES:
            code = _STATUS_CODES.get(code, "INTERNAL_ERROR")
        detail = json.get("message", f"Response: {json}")
        super().__init__(f"{raw}: {detail}", code)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.json,))


def warn(message: str, category: type[Warning] = ModelpackWarning) -> None:
    """Issue ``message`` attributed to the first stack frame outside modelpack."""
    frame = sys._getframe(1)
    level = 2  # 1 would be this function itself
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("modelpack"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
