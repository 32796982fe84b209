"""The team store on PostgreSQL: the SQL store's logic over psycopg; artifacts in a folder or S3.

Store URIs::

    postgresql://user:password@host:5432/dbname
    postgresql+psycopg://user:password@host:5432/dbname      (SQLAlchemy's spelling, the same)
    postgresql://host/dbname?sslmode=require&artifact_root=/srv/modelpack-artifacts

Query parameters other than ``artifact_root`` go to libpq as they are (``sslmode``,
``connect_timeout``, ``application_name``, ...); a password may also come from ``PGPASSWORD``
or ``~/.pgpass``, as for any libpq client. The database must exist and be owned by the user
(an empty one gets the schema on first use).

Artifacts live under the artifact root: a folder every client of the store can reach (a
shared mount), or object storage (``s3://bucket/prefix``, through ``modelpack._storage``; see
``_remote_artifacts``). It is, in order: the URI's ``artifact_root`` parameter,
``MODELPACK_ARTIFACT_ROOT``, the root recorded in the database when the store was first
opened, else ``./modelpack-artifacts`` (made absolute). The first open records its root, so
later clients that give none agree with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from modelpack._store._base import Store
from modelpack._store._postgres_db import PostgresDatabase
from modelpack._store._postgres_runs import PostgresRuns
from modelpack._store._remote_artifacts import RemoteArtifacts
from modelpack._store._sql_versions import SqlVersions
from modelpack.exceptions import StoreError

__all__ = ["ARTIFACT_ROOT_ENV", "PostgresStore", "RemotePostgresStore", "parse_postgres_uri"]

ARTIFACT_ROOT_ENV = "MODELPACK_ARTIFACT_ROOT"
DEFAULT_ARTIFACT_DIR = "modelpack-artifacts"
_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")


@dataclass(frozen=True)
class PostgresLocation:
    """A parsed PostgreSQL store URI."""

    #: the URI as given, with the password masked (what messages and ``Store.uri`` show)
    uri: str
    #: what libpq connects with (scheme postgresql, no artifact_root parameter)
    conninfo: str
    #: ``host:port/dbname``
    label: str
    #: the artifact root the URI or the environment gives (None: the recorded one)
    artifact_root: str | None


def parse_postgres_uri(uri: str) -> PostgresLocation:
    parts = urlsplit(uri)
    if parts.scheme not in _SCHEMES or not parts.path.strip("/"):
        raise StoreError(
            f"invalid store URI {_masked(uri)!r}: write postgresql://user:password@host:5432/"
            "dbname (postgresql+psycopg://... is the same)"
        )
    try:
        port = parts.port
    except ValueError as e:
        raise StoreError(f"invalid port in the store URI {_masked(uri)!r}: {e}") from e
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = [v for k, v in query if k == "artifact_root"]
    rest = [(k, v) for k, v in query if k != "artifact_root"]
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(rest), ""))
    label = f"{parts.hostname or 'localhost'}:{port or 5432}{unquote(parts.path)}"
    root = given[-1] if given else os.environ.get(ARTIFACT_ROOT_ENV) or None
    return PostgresLocation(_masked(uri), conninfo, label, root)


def _masked(uri: str) -> str:
    """``uri`` with its password replaced by ``***``."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


def _root_text(text: str) -> str:
    """An artifact root as recorded: a remote URI as it is, a local one as an absolute path."""
    from modelpack._storage import is_remote_scheme, scheme_of

    parsed = urlsplit(text)
    scheme = scheme_of(text)
    if scheme == "file":
        text = unquote(parsed.path)
    elif is_remote_scheme(scheme):
        return text.rstrip("/")
    elif scheme:
        raise StoreError(
            f"artifact root {text!r}: give a folder every client can reach (a path or "
            "file:// URI), or object storage (s3://bucket/prefix, gs://, abfs://)"
        )
    return str(Path(text).expanduser().absolute())


def _is_remote(root: str) -> bool:
    return "://" in root


class PostgresStore(PostgresRuns, SqlVersions, Store):
    """Runs and registry in a PostgreSQL database; artifacts in a folder (see module doc)."""

    def __init__(self, location: PostgresLocation, db: PostgresDatabase, root: str) -> None:
        self.uri = location.uri
        self.location = location
        self.db = db
        self.artifact_root = Path(root)

    @classmethod
    def identify(cls, uri: str) -> tuple[str, str | None]:
        location = parse_postgres_uri(uri)
        return location.conninfo, location.artifact_root

    @classmethod
    def open(cls, uri: str) -> PostgresStore:
        """The store; with a remote artifact root, the kind that keeps artifacts there."""
        location = parse_postgres_uri(uri)
        db = PostgresDatabase(location.conninfo, label=location.label)
        root = _artifact_root(db, location.artifact_root)
        if _is_remote(root):
            return RemotePostgresStore(location, db, root)
        return cls(location, db, root)

    @classmethod
    def upgrade(cls, uri: str) -> tuple[int, int]:
        """Apply the missing schema migrations: ``(version before, version after)``."""
        location = parse_postgres_uri(uri)
        return PostgresDatabase(location.conninfo, label=location.label).upgrade()

    def close(self) -> None:
        self.db.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location.label} artifacts={self.location_uri('')}>"


class RemotePostgresStore(RemoteArtifacts, PostgresStore):
    """A PostgreSQL store whose artifacts are in object storage (``_remote_artifacts``)."""

    def __init__(self, location: PostgresLocation, db: PostgresDatabase, root: str) -> None:
        import hashlib

        from modelpack._storage import models_cache_dir

        key = hashlib.sha256(f"{location.conninfo} {root}".encode()).hexdigest()[:16]
        super().__init__(location, db, str(models_cache_dir().parent / "pg-staging" / key))
        self.artifact_base = root


def _artifact_root(db: PostgresDatabase, given: str | None) -> str:
    """The store's artifact root (see the module doc); the first open records it."""
    with db.read() as conn:
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'artifact_root'").fetchone()
    if given is not None:
        root = _root_text(given)
    elif row is not None:
        root = _root_text(row[0])
    else:
        root = str(Path(DEFAULT_ARTIFACT_DIR).absolute())
    if row is None:
        with db.write() as conn:
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES ('artifact_root', ?) "
                "ON CONFLICT (key) DO NOTHING",
                (root,),
            )
    return root
