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
    """The tokens and the checks built on them.

    ``write`` tokens may change the registry; ``read`` tokens (a team server's ``ro:`` ones)
    only sign in to look. With no write token the UI is read-only. ``private`` makes reading
    need a token too (the UI inside a team server that requires one).
    """

    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    private: bool = False

    @property
    def writable(self) -> bool:
        return bool(self.write)

    @property
    def _key(self) -> str:
        # the HMAC key: every token, so changing any of them signs everyone out
        return "\n".join((*self.write, "", *self.read))

    def level(self, given: str) -> str | None:
        """``"write"``, ``"read"`` or None for a presented token (constant-time compares)."""
        found = None
        for level, known in (("write", self.write), ("read", self.read)):
            for candidate in known:
                if hmac.compare_digest(given.encode(), candidate.encode()) and found is None:
                    found = level
        return found

    def new_session(self, level: str) -> str:
        nonce = f"{level[0]}{secrets.token_hex(16)}"
        return f"{nonce}.{_mac(self._key, 'session|' + nonce)}"

    def session_level(self, cookie: str | None) -> str | None:
        """The level of a valid session cookie, else None."""
        if not (self.write or self.read) or not cookie or "." not in cookie:
            return None
        nonce, _, mac = cookie.partition(".")
        if not hmac.compare_digest(mac, _mac(self._key, "session|" + nonce)):
            return None
        return "write" if nonce.startswith("w") else "read"

    def csrf_for(self, cookie: str) -> str:
        return _mac(self._key, "csrf|" + cookie.partition(".")[0])

    def _bearer(self, headers: Mapping[str, str]) -> str | None:
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        return bearer.strip() if scheme.lower() == "bearer" and bearer.strip() else None

    def check_read(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> None:
        """Return if this request may read; else raise :class:`WriteRefused` (401)."""
        if not self.private:
            return
        bearer = self._bearer(headers)
        if bearer is not None and self.level(bearer) is not None:
            return
        if self.session_level(cookies.get(COOKIE)) is None:
            raise WriteRefused(401, "this store needs a token: sign in (top right) to see it")

    def check_write(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> None:
        """Return if this POST may write; else raise :class:`WriteRefused`."""
        if not self.write:
            raise WriteRefused(
                403,
                "this UI is read-only: start it with --auth-token-file FILE to allow changes",
            )
        bearer = self._bearer(headers)
        if bearer is not None:
            # a script: browsers never attach this header on their own
            level = self.level(bearer)
            if level == "write":
                return
            if level == "read":
                raise WriteRefused(403, "this token is read-only; changes need a full token")
            raise WriteRefused(401, "unknown token: send 'Authorization: Bearer <token>'")
        cookie = cookies.get(COOKIE)
        level = self.session_level(cookie)
        if level is None:
            raise WriteRefused(401, "sign in with the UI's token (the Sign in button) to change")
        assert cookie is not None
        if level != "write":
            raise WriteRefused(403, "signed in with a read-only token; changes need a full token")
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
