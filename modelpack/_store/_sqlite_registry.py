"""The model registry half of the SQLite store."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelpack._store._base import RegistryStore
from modelpack._store._db import Database
from modelpack._store._entities import ModelVersion, RegisteredModel, now_ms
from modelpack._store._hints import did_you_mean, listing
from modelpack.exceptions import ModelNotFoundError, StoreError

__all__ = ["SqliteRegistry"]

_VERSION_COLUMNS = (
    "name, version, creation_time, last_updated_time, current_stage, description, source, "
    "run_id, storage_location, status"
)


class SqliteRegistry(RegistryStore):
    db: Database
    uri: str
    artifact_root: Path

    # ------------------------------------------------------------------ rows -> entities
    def _versions(
        self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]
    ) -> list[ModelVersion]:
        names = sorted({row[0] for row in rows})
        tags: dict[tuple[str, int], dict[str, str]] = {}
        aliases: dict[tuple[str, int], list[str]] = {}
        for name in names:
            for _, version, key, value in conn.execute(
                "SELECT name, version, key, value FROM model_version_tags WHERE name = ?", (name,)
            ):
                tags.setdefault((name, version), {})[key] = value
            for _, version, alias in conn.execute(
                "SELECT name, version, alias FROM model_aliases WHERE name = ? ORDER BY alias",
                (name,),
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
                storage_location=str(self.artifact_root / row[8]),
                status=row[9],
                tags=tags.get((row[0], row[1]), {}),
                aliases=tuple(aliases.get((row[0], row[1]), ())),
            )
            for row in rows
        ]

    def _one_version(
        self, conn: sqlite3.Connection, where: str, args: Sequence[Any]
    ) -> ModelVersion | None:
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE {where}", args
        ).fetchone()
        return self._versions(conn, [row])[0] if row is not None else None

    def _model(self, conn: sqlite3.Connection, row: Sequence[Any]) -> RegisteredModel:
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
            latest_versions=tuple(self._versions(conn, latest)),
        )

    # ------------------------------------------------------------------ not found
    def _require_model(self, conn: sqlite3.Connection, name: str) -> None:
        if conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
            return
        names = [r[0] for r in conn.execute("SELECT name FROM registered_models ORDER BY name")]
        raise ModelNotFoundError(
            f"no registered model named {name!r} in the store {self.uri}; registered models: "
            f"{listing(names, empty='(none)')}.{did_you_mean(name, names)}",
            uri=f"models:/{name}",
        )

    def _version_summary(self, conn: sqlite3.Connection, name: str) -> str:
        rows = conn.execute(
            "SELECT version, current_stage FROM model_versions WHERE name = ? ORDER BY version",
            (name,),
        ).fetchall()
        items = [f"{v} ({s})" if s != "None" else f"{v} (no stage)" for v, s in rows]
        return listing(items, empty="none (register one with modelpack.register_model)", limit=50)

    def _version_not_found(
        self, conn: sqlite3.Connection, name: str, version: int
    ) -> ModelNotFoundError:
        self._require_model(conn, name)
        return ModelNotFoundError(
            f"registered model {name!r} has no version {version}; versions: "
            f"{self._version_summary(conn, name)}",
            uri=f"models:/{name}/{version}",
        )

    def _aliases_of(self, conn: sqlite3.Connection, name: str) -> str:
        rows = conn.execute(
            "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", (name,)
        ).fetchall()
        return listing([f"{a} -> {v}" for a, v in rows], empty="(none)")

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
            except sqlite3.IntegrityError as e:
                raise StoreError(
                    f"a registered model named {name!r} already exists; register new versions "
                    "with modelpack.register_model, or pick another name"
                ) from e
            conn.executemany(
                "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                [(name, k, v) for k, v in tags.items()],
            )
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            self._require_model(conn, name)
            row = conn.execute(
                "SELECT name, creation_time, last_updated_time, description "
                "FROM registered_models WHERE name = ?",
                (name,),
            ).fetchone()
            return self._model(conn, row)

    def search_registered_models(self, name_like: str | None = None) -> list[RegisteredModel]:
        sql = "SELECT name, creation_time, last_updated_time, description FROM registered_models"
        with self.db.read() as conn:
            if name_like:
                rows = conn.execute(f"{sql} WHERE mp_like(name, ?, 1) ORDER BY name", (name_like,))
            else:
                rows = conn.execute(f"{sql} ORDER BY name")
            return [self._model(conn, row) for row in rows.fetchall()]

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
                "INSERT OR REPLACE INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                (name, key, value),
            )
