"""The error a request handler raises to answer with a given status and message, and how an
exception from ``predict`` becomes one.

A client's mistake is a 4xx answer with one access-log line; only a failure the client could
not have avoided is a 500 with a traceback in the server log.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

from modelpack.exceptions import SchemaError

__all__ = ["HTTPError", "bad_request", "model_error"]

log = logging.getLogger("modelpack.serving")


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


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


def _invalid(message: str, note: str) -> HTTPError:
    return HTTPError(400, "INVALID_PARAMETER_VALUE", f"{message}; {note}" if note else message)


def model_error(e: BaseException, data: Any, note: str = "") -> HTTPError:
    """The answer to ``predict(data)`` raising ``e``; ``note`` says what the client may have
    meant (records with different keys, ...)."""
    if isinstance(e, SchemaError):
        found = nonfinite(data, only=e.column) if e.column is not None else None
        if found is not None:  # say why a number column looked like something else
            column, row, value = found
            note = f"column {column} holds {value} at row {row}" + (f"; {note}" if note else "")
        return _invalid(str(e), note)
    if isinstance(e, RecursionError):  # a value the checks could not take apart
        log.warning("a request's input recursed without end in predict; answered 400")
        return _invalid(
            "the input could not be checked against the model's signature; look for nulls "
            "and numbers out of range",
            note,
        )
    if isinstance(e, ValueError):
        found = nonfinite(data)
        if found is not None:  # the model refuses the NaN, null or infinity the client sent
            column, row, value = found
            return _invalid(
                f"column {column} holds {value} at row {row}, which this model does not "
                f"accept (the model raised {_first_line(e)})",
                note,
            )
    log.error("the model raised an exception", exc_info=e)
    return HTTPError(500, "MODEL_ERROR", f"the model raised {_first_line(e)}")


# ------------------------------------------------------------------- missing values in input
def nonfinite(data: Any, *, only: str | None = None) -> tuple[str, int, str] | None:
    """(column, row, what) of the first null, NaN or infinity in ``data``, else None.

    ``data`` is a parsed request: a DataFrame, a dict of columns or an array; ``only`` limits
    the search to one named column. Runs only when predict has failed.
    """
    columns: Iterator[tuple[Any, Any]]
    if hasattr(data, "items") and hasattr(data, "columns"):  # a DataFrame
        columns = ((name, col.to_numpy()) for name, col in data.items())
    elif isinstance(data, dict):
        columns = iter(data.items())
    else:
        import numpy as np

        arr = np.asarray(data)
        if arr.ndim == 2:
            columns = ((f"{j}", arr[:, j]) for j in range(arr.shape[1]))
        else:
            columns = iter([("0", arr.reshape(-1))])
    for name, values in columns:
        if only is not None and name != only:
            continue
        found = _first_missing(values)
        if found is not None:
            return repr(name) if isinstance(name, str) and not name.isdigit() else name, *found
    return None


def _first_missing(values: Any) -> tuple[int, str] | None:
    kind = getattr(getattr(values, "dtype", None), "kind", "O")
    if kind in "iub":
        return None
    if kind in "fc":
        import numpy as np

        bad = ~np.isfinite(values)
        if not bad.any():
            return None
        row = int(bad.argmax())
        return row, _describe(float(values[row].real))
    for row, value in enumerate(values):
        if value is None:
            return row, "a null"
        if isinstance(value, float) and not math.isfinite(value):
            return row, _describe(value)
    return None


def _describe(value: float) -> str:
    return "NaN (a missing value)" if math.isnan(value) else f"{value}"
