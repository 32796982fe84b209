"""Who may write through the UI, and protection against cross-site requests.

The UI is read-only unless a token is configured. A write (always a POST) is accepted with
``Authorization: Bearer <token>`` (scripts), or from the UI itself with the session cookie set by
entering the token on the login form *and* a CSRF header derived from that session. A browser
write must also come from the same origin (``Origin`` / ``Sec-Fetch-Site``). Nothing is kept on
the server: session and CSRF values are HMACs keyed by the token, so any number of processes
agree on them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["COOKIE", "CSRF_HEADER", "Access", "WriteRefused", "check_same_origin"]

COOKIE = "modelpack_ui_session"
CSRF_HEADER = "x-csrf-token"


class WriteRefused(Exception):
    """A write the UI does not accept: ``status`` and a message saying what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _mac(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Access:
    """The token (None: read-only UI) and the checks built on it."""

    token: str | None

    @property
    def writable(self) -> bool:
        return self.token is not None

    def new_session(self) -> str:
        assert self.token is not None
        nonce = secrets.token_hex(16)
        return f"{nonce}.{_mac(self.token, 'session|' + nonce)}"

    def session_ok(self, cookie: str | None) -> bool:
        if self.token is None or not cookie or "." not in cookie:
            return False
        nonce, _, mac = cookie.partition(".")
        return hmac.compare_digest(mac, _mac(self.token, "session|" + nonce))

    def csrf_for(self, cookie: str) -> str:
        assert self.token is not None
        return _mac(self.token, "csrf|" + cookie.partition(".")[0])

    def token_ok(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def check_write(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> None:
        """Return if this POST may write; else raise :class:`WriteRefused`."""
        if self.token is None:
            raise WriteRefused(
                403,
                "this UI is read-only: start it with --auth-token-file FILE to allow changes",
            )
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer.strip():
            if self.token_ok(bearer.strip()):
                return  # a script: browsers never attach this header on their own
            raise WriteRefused(401, "unknown token: send 'Authorization: Bearer <token>'")
        cookie = cookies.get(COOKIE)
        if not self.session_ok(cookie):
            raise WriteRefused(401, "sign in with the UI's token (the Sign in button) to change")
        assert cookie is not None
        check_same_origin(headers)
        given = headers.get(CSRF_HEADER, "")
        if not given or not hmac.compare_digest(given, self.csrf_for(cookie)):
            raise WriteRefused(403, "missing or wrong CSRF token: reload the page and try again")


def check_same_origin(headers: Mapping[str, str]) -> None:
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise WriteRefused(403, f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        if origin == "null" or urlsplit(origin).netloc != host:
            raise WriteRefused(403, f"cross-origin request refused (Origin: {origin})")
