"""Bearer tokens: who may read, who may also write.

The token file has one token per line; a line ``ro:<token>`` is a read-only token; blank
lines and lines starting with ``#`` are skipped. Without a file the server is open (bind it
to 127.0.0.1 or put it behind a proxy that authenticates).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from modelpack.exceptions import StoreError

__all__ = ["Tokens", "is_read_only_call"]

#: calls that change nothing although sent with POST (MLflow's searches)
_READING_POSTS = frozenset(
    {
        "/api/2.0/mlflow/experiments/search",
        "/api/2.0/mlflow/runs/search",
        "/api/2.0/mlflow/logged-models/search",
        "/api/2.0/mlflow/registered-models/get-latest-versions",
    }
)


def is_read_only_call(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") or (method == "POST" and path in _READING_POSTS)


@dataclass(frozen=True)
class Tokens:
    write: tuple[bytes, ...]
    read: tuple[bytes, ...]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokens:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise StoreError(f"cannot read the token file {os.fspath(path)!r}: {e}") from e
        write, read = [], []
        for line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if text.startswith("ro:"):
                read.append(text[3:].strip().encode())
            else:
                write.append(text.encode())
        if not write and not read:
            raise StoreError(
                f"the token file {os.fspath(path)!r} holds no token: write one per line "
                "(prefix a read-only one with 'ro:')"
            )
        return cls(tuple(write), tuple(read))

    def access(self, header: str | None) -> str | None:
        """``"write"``, ``"read"`` or None (no or unknown token) for an Authorization header."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode()
        # compare with every token (no early exit) so timing says nothing about which matched
        found = None
        for level, known in (("write", self.write), ("read", self.read)):
            for candidate in known:
                if hmac.compare_digest(given, candidate) and found is None:
                    found = level
        return found
