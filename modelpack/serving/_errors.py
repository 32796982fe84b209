"""The error a request handler raises to answer with a given status and message."""

from __future__ import annotations

__all__ = ["HTTPError", "bad_request"]


class HTTPError(Exception):
    """Answer the current request with ``status`` and a JSON error body.

    ``code`` is the MLflow-style ``error_code`` (``BAD_REQUEST``, ``MALFORMED_REQUEST``, ...);
    the Open Inference Protocol endpoints show only the message.
    """

    def __init__(self, status: int, code: str, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        #: close the connection after answering (the rest of the body is not read)
        self.close = close


def bad_request(message: str) -> HTTPError:
    return HTTPError(400, "BAD_REQUEST", message)
