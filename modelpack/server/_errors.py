"""Errors as the server answers them: MLflow's body ``{"error_code": ..., "message": ...}``.

Every failure of a request becomes one of these with a 4xx or 5xx status; no traceback ever
reaches a client. Errors a client can cause (modelpack's own errors, ``ValueError``,
``LookupError``) keep their code; anything else is logged here and answered as
``INTERNAL_ERROR`` without details. A store whose database cannot be reached right now
(:class:`~modelpack.exceptions.StoreUnavailableError`) is ``TEMPORARILY_UNAVAILABLE``: 503 with
``Retry-After``, so clients retry rather than give up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from modelpack.exceptions import ModelpackError, http_status

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = [
    "RETRY_AFTER_S",
    "ApiError",
    "error_body",
    "error_response",
    "from_exception",
    "json_response",
]

_log = logging.getLogger("modelpack.server")

#: the ``Retry-After`` of a 503 (seconds): about a database restart's time
RETRY_AFTER_S = 2


class ApiError(ModelpackError):
    """A refusal decided by the server itself (bad request, missing token, ...)."""

    def __init__(
        self,
        message: str,
        error_code: str = "INVALID_PARAMETER_VALUE",
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message, error_code)
        #: an HTTP status other than MLflow's for the code (413 for a body over the limit)
        self.status = status


def error_body(error_code: str, message: str) -> dict[str, Any]:
    return {"error_code": error_code, "message": message}


def from_exception(error: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and JSON body that answer ``error``."""
    if isinstance(error, ApiError) and error.status is not None:
        return error.status, error_body(error.error_code, error.message)
    if isinstance(error, ModelpackError):
        code = error.error_code
        if code == "INTERNAL_ERROR" and _is_client_mistake(error):
            code = "INVALID_PARAMETER_VALUE"
        if code == "INTERNAL_ERROR":
            _log.error("request failed: %s", error, exc_info=error)
        elif code == "TEMPORARILY_UNAVAILABLE":
            _log.warning("request refused: %s", error.message)
        return http_status(code), error_body(code, error.message)
    if isinstance(error, LookupError):
        return 404, error_body("RESOURCE_DOES_NOT_EXIST", str(error))
    if isinstance(error, (ValueError, TypeError)):
        return 400, error_body("INVALID_PARAMETER_VALUE", str(error))
    _log.error("request failed", exc_info=error)
    return 500, error_body("INTERNAL_ERROR", "internal server error; see the server's log")


def _is_client_mistake(error: ModelpackError) -> bool:
    """A store's refusal (param already set, deleted run, bad artifact path) is the client's
    to fix: MLflow answers those with 400, not 500."""
    from modelpack.exceptions import StoreError

    return isinstance(error, (StoreError, ValueError))


def json_response(status: int, body: dict[str, Any]) -> Response:
    import orjson
    from starlette.responses import Response

    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error_response(error: BaseException) -> Response:
    status, body = from_exception(error)
    return json_response(status, body)
