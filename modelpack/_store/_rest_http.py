"""The HTTP client under the REST store: one keep-alive connection per thread, retries, auth.

Standard library only (``http.client``), so the base install stays small. What it does:

- one persistent connection per thread and per server (reopened after a ``fork`` or an error);
- bounded retries with exponential backoff on connection errors and on 429/502/503/504, for
  idempotent calls only (reads, and writes the caller marks safe to repeat);
- a bearer token from ``MODELPACK_TRACKING_TOKEN`` or ``MLFLOW_TRACKING_TOKEN``, else basic auth
  from ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``;
- MLflow's error body (``{"error_code": ..., "message": ...}``) mapped to modelpack's error
  kinds; a server that cannot be reached is one :class:`StoreError` naming the URL.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError

__all__ = ["RETRY_STATUSES", "HttpClient", "RestValueError", "error_for", "quote_path"]

#: answers worth another try: the server or a proxy in front of it is busy or restarting
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_ATTEMPTS = int(os.environ.get("MODELPACK_HTTP_MAX_RETRIES", "5")) + 1
_BACKOFF = float(os.environ.get("MODELPACK_HTTP_BACKOFF", "0.2"))
_TIMEOUT = float(os.environ.get("MODELPACK_HTTP_TIMEOUT", "120"))
_CHUNK = 1 << 20
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class RestValueError(StoreError, ValueError):
    """The server refused an argument (MLflow's ``INVALID_PARAMETER_VALUE``)."""

    error_code = "INVALID_PARAMETER_VALUE"


def error_for(status: int, body: bytes, what: str) -> Exception:
    """The modelpack error for an error answer (MLflow's JSON body, or anything else)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    if isinstance(payload, dict) and "error_code" in payload:
        code = str(payload.get("error_code"))
        message = f"{what}: {payload.get('message') or code}"
    else:
        code = {404: "RESOURCE_DOES_NOT_EXIST", 400: "INVALID_PARAMETER_VALUE"}.get(status, "")
        text = body[:300].decode("utf-8", "replace").strip()
        message = f"{what}: HTTP {status}" + (f": {text}" if text else "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND") and status != 401:
        return ModelNotFoundError(message)
    if code == "RESOURCE_ALREADY_EXISTS":
        return ModelExistsError(message, error_code=code)
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
        return RestValueError(message, error_code=code)
    if status in (401, 403) or code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return StoreError(
            f"{message} (set MODELPACK_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD, to credentials the server accepts)",
            error_code=code or ("UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"),
        )
    return StoreError(message, error_code=code or None)


def _auth_header() -> str | None:
    token = os.environ.get("MODELPACK_TRACKING_TOKEN") or os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return f"Bearer {token}"
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return f"Basic {raw}"
    return None


class HttpClient:
    """Requests to one server (``http://host:port[/prefix]``), safe to share between threads."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"invalid server URL {base_url!r}: use http://host:port")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()

    # ------------------------------------------------------------------ connections
    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            # a file body is sent in reads of ``blocksize``: 1 MiB, not http.client's 8 KiB
            # (131,072 send calls per GiB, which held uploads well below the network's speed)
            conn = cls(self._host, self._port, timeout=_TIMEOUT, blocksize=_CHUNK)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None

    def close(self) -> None:
        self._drop()

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": "modelpack", "Accept": "application/json"}
        auth = _auth_header()
        if auth:
            headers["Authorization"] = auth
        headers.update(extra or {})
        return headers

    # ------------------------------------------------------------------ requests
    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @contextmanager
    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        what: str = "",
    ) -> Iterator[http.client.HTTPResponse]:
        """Send one request and yield the (successful) response, retrying when allowed.

        A file object as ``body`` is rewound before each retry. Error answers raise the
        modelpack error kind :func:`error_for` picks.
        """
        target = f"{self._prefix}{path}"
        attempts = _MAX_ATTEMPTS if idempotent else 1
        what = what or f"{method} {self.url(path)}"
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        attempt = 0
        while True:
            attempt += 1
            if body is not None and not isinstance(body, bytes):
                body.seek(start)
            conn = self._connection()
            reused = conn.sock is not None
            try:
                conn.request(method, target, body=body, headers=self._headers(headers))
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                # a kept-alive connection the server had closed: one more try, even for a write
                stale = reused and isinstance(e, _STALE) and attempt == 1
                if attempt < attempts or stale:
                    time.sleep(0 if stale else self._delay(attempt))
                    continue
                raise StoreError(
                    f"cannot reach the tracking server at {self.base_url} ({what}): {e}. "
                    "Check that the server is running and the URL is right "
                    "(MODELPACK_STORE_URI or set_store_uri)",
                    error_code="TEMPORARILY_UNAVAILABLE",
                ) from None
            last = attempt >= attempts
            if response.status in RETRY_STATUSES and not last:
                response.read()
                time.sleep(self._delay(attempt, response.getheader("Retry-After")))
                continue
            if response.status >= 400:
                data = response.read()
                raise error_for(response.status, data, what)
            try:
                yield response
            finally:
                if not response.isclosed():
                    response.read()
            return

    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        """The server's ``Retry-After`` (seconds or an HTTP date; at most 10 s), else an
        exponential backoff with jitter, so many clients do not come back at once."""
        if retry_after:
            wait = _retry_after_seconds(retry_after)
            if wait is not None:
                return min(max(wait, 0.0), 10.0)
        return _BACKOFF * (2 ** (attempt - 1)) * (0.5 + random.random())

    def call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """A JSON API call: GET sends ``payload`` as the query string, others as the body."""
        body = None
        if method == "GET" and payload:
            path = f"{path}?{_query(payload)}"
        elif payload is not None:
            body = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"} if body is not None else None
        safe = method == "GET" if idempotent is None else idempotent
        with self.request(method, path, body=body, headers=headers, idempotent=safe) as resp:
            data = resp.read()
        if not data:
            return {}
        result: dict[str, Any] = json.loads(data.decode("utf-8"))
        return result

    def download(self, path: str, dest: IO[bytes]) -> None:
        """Stream a GET answer into ``dest`` (retried from the start on failure)."""
        with self.request("GET", path) as resp:
            while chunk := resp.read(_CHUNK):
                dest.write(chunk)

    def ping(self) -> bool:
        try:
            with self.request("GET", "/health", idempotent=False):
                return True
        except StoreError:
            return False


def _retry_after_seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time() if when.tzinfo else None


def _query(payload: Mapping[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in payload.items():
        if value is None:
            continue
        values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        for item in values:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append((key, text))
    return urlencode(pairs, quote_via=quote)


def quote_path(path: str) -> str:
    """A POSIX artifact path as a URL path (each segment quoted)."""
    return "/".join(quote(part, safe="") for part in path.split("/"))
