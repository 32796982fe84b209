"""Model versions in the SQL store: allocation, lookup, aliases, stages, tags."""

from __future__ import annotations

from collections.abc import Sequence

from modelpack._crash import crash_point
from modelpack._store._dialect import Connection
from modelpack._store._entities import ModelVersion, NewVersion, PagedList, now_ms
from modelpack._store._hints import listing
from modelpack._store._registry_search import VERSIONS
from modelpack._store._sql_registry import _VERSION_COLUMNS, SqlRegistry
from modelpack.exceptions import ModelNotFoundError

__all__ = ["SqlVersions"]


class SqlVersions(SqlRegistry):
    def create_model_version(self, new: NewVersion) -> ModelVersion:
        """Allocate the next number and insert the version in one write transaction.

        The write transaction holds the store's write lock from the read of ``last_version``
        to the commit (see ``_dialect``), so concurrent registrations get consecutive,
        distinct numbers.
        """
        now = now_ms()
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT last_version FROM registered_models WHERE name = ?", (new.name,)
            ).fetchone()
            if row is None and not new.create_model:
                self._require_model(conn, new.name)
            if row is None:
                conn.execute(
                    "INSERT INTO registered_models (name, creation_time, last_updated_time) "
                    "VALUES (?, ?, ?)",
                    (new.name, now, now),
                )
            version = (row[0] if row else 0) + 1
            conn.execute(
                "UPDATE registered_models SET last_version = ?, last_updated_time = ? "
                "WHERE name = ?",
                (version, now, new.name),
            )
            conn.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
                "description, source, run_id, storage_location, run_link) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.name,
                    version,
                    now,
                    now,
                    new.description,
                    new.source,
                    new.run_id,
                    new.storage_location,
                    new.run_link,
                ),
            )
            conn.executemany(
                "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)",
                [(new.name, version, k, v) for k, v in new.tags.items()],
            )
            if new.manifest_digest:
                conn.execute(
                    "INSERT INTO model_version_digests (name, version, manifest_digest) "
                    "VALUES (?, ?, ?)",
                    (new.name, version, new.manifest_digest),
                )
            crash_point("version-before-commit")
            created = self._one_version(conn, "name = ? AND version = ?", (new.name, version))
        assert created is not None
        return created

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            found = self._one_version(conn, "name = ? AND version = ?", (name, int(version)))
            if found is None:
                raise self._version_not_found(conn, name, int(version))
            return found

    def get_manifest_digest(self, name: str, version: int) -> str | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT manifest_digest FROM model_version_digests WHERE name = ? AND version = ?",
                (name, int(version)),
            ).fetchone()
        return str(row[0]) if row else None

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as conn:
            found = self._one_version(
                conn,
                "name = ? AND version = (SELECT version FROM model_aliases "
                "WHERE name = ? AND alias = ?)",
                (name, name, alias),
            )
            if found is None:
                self._require_model(conn, name)
                raise ModelNotFoundError(
                    f"registered model {name!r} has no alias {alias!r}; aliases: "
                    f"{self._aliases_of(conn, name)}. Set one with "
                    f"modelpack.set_alias({name!r}, {alias!r}, <version>).",
                    uri=f"models:/{name}@{alias}",
                )
            return found

    def get_latest_version(self, name: str, stage: str | None = None) -> ModelVersion:
        where = "name = ?" + (" AND current_stage = ?" if stage is not None else "")
        args = (name, stage) if stage is not None else (name,)
        with self.db.read() as conn:
            found = self._one_version(conn, f"{where} ORDER BY version DESC LIMIT 1", args)
            if found is None:
                self._require_model(conn, name)
                hint = (
                    f" Move one there with modelpack.transition_model_version_stage({name!r}, "
                    f"<version>, {stage!r})."
                    if stage is not None
                    else ""
                )
                raise ModelNotFoundError(
                    f"registered model {name!r} has no version"
                    + (f" in stage {stage}" if stage is not None else "")
                    + f"; versions: {self._version_summary(conn, name)}.{hint}",
                    uri=f"models:/{name}/{stage or 'latest'}",
                )
            return found

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        select = f"SELECT {_VERSION_COLUMNS} FROM model_versions v"
        with self.db.read() as conn:
            rows, token = self._page(
                conn, VERSIONS, select, (filter_string, max_results, order_by, page_token)
            )
            return PagedList(self._versions(conn, rows), token)

    def _touch(
        self, conn: Connection, name: str, version: int, sql: str, args: tuple[object, ...]
    ) -> None:
        """Run an UPDATE/DELETE on one version; a missing version is a not-found error."""
        cur = conn.execute(sql, args)
        if cur.rowcount == 0:
            raise self._version_not_found(conn, name, version)

    def update_model_version(self, name: str, version: int, *, description: str | None) -> None:
        with self.db.write() as conn:
            self._touch(
                conn,
                name,
                version,
                "UPDATE model_versions SET description = ?, last_updated_time = ? "
                "WHERE name = ? AND version = ?",
                (description, now_ms(), name, int(version)),
            )

    def delete_model_version(self, name: str, version: int) -> None:
        with self.db.write() as conn:
            self._touch(
                conn,
                name,
                version,
                "DELETE FROM model_versions WHERE name = ? AND version = ?",
                (name, int(version)),
            )

    def set_model_version_tag(self, name: str, version: int, key: str, value: str | None) -> None:
        with self.db.write() as conn:
            # a tag leaves last_updated_timestamp as it is (as MLflow's does)
            exists = conn.execute(
                "SELECT 1 FROM model_versions WHERE name = ? AND version = ?", (name, int(version))
            ).fetchone()
            if exists is None:
                raise self._version_not_found(conn, name, int(version))
            if value is not None:
                conn.execute(
                    "INSERT INTO model_version_tags (name, version, key, value) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (name, version, key) "
                    "DO UPDATE SET value = excluded.value",
                    (name, int(version), key, value),
                )
                return
            cur = conn.execute(
                "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
                (name, int(version), key),
            )
            if cur.rowcount == 0:
                keys = [r[0] for r in conn.execute(
                    "SELECT key FROM model_version_tags WHERE name = ? AND version = ? ORDER BY key",
                    (name, int(version)),
                )]  # fmt: skip
                raise ModelNotFoundError(
                    f"version {version} of {name!r} has no tag {key!r}; tags: "
                    f"{listing(keys, empty='(none)')}"
                )

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with self.db.write() as conn:
            exists = conn.execute(
                "SELECT 1 FROM model_versions WHERE name = ? AND version = ?", (name, int(version))
            ).fetchone()
            if exists is None:
                raise self._version_not_found(conn, name, int(version))
            # one row per (name, alias): setting it again moves the alias to the new version
            conn.execute(
                "INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?) "
                "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                (name, alias, int(version)),
            )

    def delete_alias(self, name: str, alias: str) -> None:
        with self.db.write() as conn:
            self._require_model(conn, name)
            cur = conn.execute(
                "DELETE FROM model_aliases WHERE name = ? AND alias = ?", (name, alias)
            )
            if cur.rowcount == 0:
                raise ModelNotFoundError(
                    f"registered model {name!r} has no alias {alias!r}; aliases: "
                    f"{self._aliases_of(conn, name)}",
                    uri=f"models:/{name}@{alias}",
                )

    def transition_stage(
        self, name: str, version: int, stage: str, *, archive_existing: bool
    ) -> ModelVersion:
        now = now_ms()
        with self.db.write() as conn:
            self._touch(
                conn,
                name,
                version,
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                "WHERE name = ? AND version = ?",
                (stage, now, name, int(version)),
            )
            if archive_existing:
                conn.execute(
                    "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? "
                    "WHERE name = ? AND current_stage = ? AND version != ?",
                    (now, name, stage, int(version)),
                )
            moved = self._one_version(conn, "name = ? AND version = ?", (name, int(version)))
        assert moved is not None
        return moved
