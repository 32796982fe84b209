"""The model registry half of the SQL store: registered models, and rows to entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelpack._store._base import RegistryStore
from modelpack._store._dialect import Connection, SqlDatabase
from modelpack._store._entities import ModelVersion, PagedList, RegisteredModel, now_ms
from modelpack._store._hints import did_you_mean, listing
from modelpack._store._registry_search import (
    MODELS,
    SearchKind,
    check_max_results,
    compile_search,
    decode_page_token,
    encode_page_token,
)
from modelpack._store._sql_experiments import local_location
from modelpack.exceptions import ModelExistsError, ModelNotFoundError

__all__ = ["SqlRegistry"]

_VERSION_COLUMNS = (
    "name, version, creation_time, last_updated_time, current_stage, description, source, "
    "run_id, storage_location, status, run_link"
)
_MODEL_COLUMNS = "name, creation_time, last_updated_time, description"


class SqlRegistry(RegistryStore):
    db: SqlDatabase
    uri: str
    artifact_root: Path

    # ------------------------------------------------------------------ rows -> entities
    def location_uri(self, location: str) -> str:
        """Where a recorded location is (as ``SqlExperiments.location_uri``: the registry half
        of a store may be used on its own)."""
        return local_location(self.artifact_root, location)

    def _versions(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> list[ModelVersion]:
        """Versions with their tags and aliases (read per model, or for the one version)."""
        tags: dict[tuple[str, int], dict[str, str]] = {}
        aliases: dict[tuple[str, int], list[str]] = {}
        if len(rows) == 1:
            where, args = "name = ? AND version = ?", (rows[0][0], rows[0][1])
            scopes: list[tuple[str, tuple[Any, ...]]] = [(where, args)]
        else:
            scopes = [("name = ?", (name,)) for name in sorted({row[0] for row in rows})]
        for where, args in scopes:
            for name, version, key, value in conn.execute(
                f"SELECT name, version, key, value FROM model_version_tags WHERE {where}", args
            ):
                tags.setdefault((name, version), {})[key] = value
            for name, version, alias in conn.execute(
                f"SELECT name, version, alias FROM model_aliases WHERE {where} ORDER BY alias",
                args,
            ):
                aliases.setdefault((name, version), []).append(alias)
        return [
            ModelVersion(
                name=row[0],
                version=row[1],
                creation_timestamp=row[2],
                last_updated_timestamp=row[3],
                current_stage=row[4],
                description=row[5],
                source=row[6],
                run_id=row[7],
                storage_location=self.location_uri(row[8]),
                status=row[9],
                run_link=row[10],
                tags=tags.get((row[0], row[1]), {}),
                aliases=aliases.get((row[0], row[1]), []),
            )
            for row in rows
        ]

    def _one_version(
        self, conn: Connection, where: str, args: Sequence[Any]
    ) -> ModelVersion | None:
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE {where}", args
        ).fetchone()
        return self._versions(conn, [row])[0] if row is not None else None

    def _model(self, conn: Connection, row: Sequence[Any]) -> RegisteredModel:
        name = row[0]
        tags = dict(
            conn.execute(
                "SELECT key, value FROM registered_model_tags WHERE name = ?", (name,)
            ).fetchall()
        )
        aliases = dict(
            conn.execute(
                "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", (name,)
            ).fetchall()
        )
        latest = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions v WHERE name = ? AND version = "
            "(SELECT MAX(version) FROM model_versions w WHERE w.name = v.name "
            "AND w.current_stage = v.current_stage) ORDER BY version",
            (name,),
        ).fetchall()
        return RegisteredModel(
            name=name,
            creation_timestamp=row[1],
            last_updated_timestamp=row[2],
            description=row[3],
            tags=tags,
            aliases=aliases,
            latest_versions=self._versions(conn, latest),
        )

    def _page(
        self,
        conn: Connection,
        kind: SearchKind,
        select: str,
        query: tuple[str | None, int, Sequence[str] | None, str | None],
    ) -> tuple[list[Any], str | None]:
        """One page of rows of a registry search, and the token of the next page."""
        filter_string, max_results, order_by, page_token = query
        limit = check_max_results(kind, max_results)
        offset = decode_page_token(page_token)
        where, params, order = compile_search(kind, filter_string, order_by)
        if limit == 0:
            return [], None
        rows = conn.execute(
            f"{select} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit + 1, offset),
        ).fetchall()
        more = len(rows) > limit
        return rows[:limit], encode_page_token(offset + limit) if more else None

    # ------------------------------------------------------------------ not found
    def _require_model(self, conn: Connection, name: str) -> None:
        if conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
            return
        names = [r[0] for r in conn.execute("SELECT name FROM registered_models ORDER BY name")]
        raise ModelNotFoundError(
            f"no registered model named {name!r} in the store {self.uri}; registered models: "
            f"{listing(names, empty='(none)')}.{did_you_mean(name, names)}",
            uri=f"models:/{name}",
        )

    def _version_summary(self, conn: Connection, name: str) -> str:
        rows = conn.execute(
            "SELECT version, current_stage FROM model_versions WHERE name = ? ORDER BY version",
            (name,),
        ).fetchall()
        items = [f"{v} ({s})" if s != "None" else f"{v} (no stage)" for v, s in rows]
        return listing(items, empty="none (register one with modelpack.register_model)", limit=50)

    def _version_not_found(self, conn: Connection, name: str, version: int) -> ModelNotFoundError:
        self._require_model(conn, name)
        return ModelNotFoundError(
            f"registered model {name!r} has no version {version}; versions: "
            f"{self._version_summary(conn, name)}",
            uri=f"models:/{name}/{version}",
        )

    def _aliases_of(self, conn: Connection, name: str) -> str:
        rows = conn.execute(
            "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", (name,)
        ).fetchall()
        return listing([f"{a} -> {v}" for a, v in rows], empty="(none)")

    def _name_taken(self, name: str, hint: str) -> ModelExistsError:
        return ModelExistsError(f"a registered model named {name!r} already exists; {hint}")

    # ------------------------------------------------------------------ registered models
    def create_registered_model(
        self, name: str, *, description: str | None, tags: Mapping[str, str]
    ) -> RegisteredModel:
        now = now_ms()
        with self.db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO registered_models (name, creation_time, last_updated_time, "
                    "description) VALUES (?, ?, ?, ?)",
                    (name, now, now, description),
                )
            except self.db.IntegrityError as e:
                raise self._name_taken(
                    name,
                    "register new versions with modelpack.register_model, or pick another name",
                ) from e
            conn.executemany(
                "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                [(name, k, v) for k, v in tags.items()],
            )
            return self._model(conn, (name, now, now, description))

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            self._require_model(conn, name)
            row = conn.execute(
                f"SELECT {_MODEL_COLUMNS} FROM registered_models WHERE name = ?", (name,)
            ).fetchone()
            return self._model(conn, row)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        select = (
            "SELECT m.name, m.creation_time, m.last_updated_time, m.description "
            "FROM registered_models m"
        )
        with self.db.read() as conn:
            rows, token = self._page(
                conn, MODELS, select, (filter_string, max_results, order_by, page_token)
            )
            return PagedList([self._model(conn, row) for row in rows], token)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        with self.db.write() as conn:
            self._require_model(conn, name)
            if new_name != name:
                taken = conn.execute(
                    "SELECT 1 FROM registered_models WHERE name = ?", (new_name,)
                ).fetchone()
                if taken:
                    raise self._name_taken(
                        new_name,
                        f"delete it first or pick another new name for {name!r}",
                    )
                # versions, their tags and aliases follow through ON UPDATE CASCADE
                conn.execute(
                    "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?",
                    (new_name, now_ms(), name),
                )
            row = conn.execute(
                f"SELECT {_MODEL_COLUMNS} FROM registered_models WHERE name = ?", (new_name,)
            ).fetchone()
            return self._model(conn, row)

    def update_registered_model(self, name: str, *, description: str | None) -> None:
        with self.db.write() as conn:
            self._require_model(conn, name)
            conn.execute(
                "UPDATE registered_models SET description = ?, last_updated_time = ? "
                "WHERE name = ?",
                (description, now_ms(), name),
            )

    def delete_registered_model(self, name: str) -> None:
        with self.db.write() as conn:
            self._require_model(conn, name)
            conn.execute("DELETE FROM registered_models WHERE name = ?", (name,))

    def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        with self.db.write() as conn:
            self._require_model(conn, name)
            if value is None:
                cur = conn.execute(
                    "DELETE FROM registered_model_tags WHERE name = ? AND key = ?", (name, key)
                )
                if cur.rowcount == 0:
                    keys = [r[0] for r in conn.execute(
                        "SELECT key FROM registered_model_tags WHERE name = ? ORDER BY key", (name,)
                    )]  # fmt: skip
                    raise ModelNotFoundError(
                        f"registered model {name!r} has no tag {key!r}; tags: "
                        f"{listing(keys, empty='(none)')}"
                    )
                return
            conn.execute(
                "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                (name, key, value),
            )
