"""Helpers of the PostgreSQL store tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import psycopg

from modelpack._store._postgres_schema import PG_MIGRATIONS


def old_store(url: str, version: int) -> None:
    """Give the empty database at ``url`` the schema of an earlier release (``version``)."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for number in range(1, version + 1):
            for statement in PG_MIGRATIONS[number]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (%s, 0)", (number,))


def request(url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    """One HTTP call: status, headers (lower-case names) and the decoded JSON answer (errors included)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, _lower(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, _lower(e.headers), json.loads(e.read())


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
