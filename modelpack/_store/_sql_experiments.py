"""The experiments part of the SQL store (SQLite or PostgreSQL), and its page tokens."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from modelpack._store._base import RunStore
from modelpack._store._dialect import NO_LIMIT, Connection, SqlDatabase
from modelpack._store._entities import (
    Experiment,
    LifecycleStage,
    PagedList,
    ViewType,
    now_ms,
)
from modelpack._store._filter import compile_experiment_filter, compile_experiment_order_by
from modelpack._store._hints import did_you_mean, listing
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError

__all__ = [
    "SqlExperiments",
    "check_experiment_name",
    "decode_page_token",
    "encode_page_token",
    "local_location",
    "experiment_int",
]

_EXP_SQL = (
    "SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, "
    "e.last_update_time FROM experiments e"
)


def local_location(root: Path, location: str) -> str:
    """``location`` under a local artifact ``root``, unless it is absolute or a URI."""
    if ":" in location:  # the rare case: only then the cost of parsing a scheme
        from modelpack._storage import scheme_of

        if scheme_of(location):
            return location
    return str(root / location) if location else str(root)


def encode_page_token(offset: int) -> str:
    """The token of the page starting at ``offset`` (opaque to callers)."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a page token stands for (0 for no token)."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError) as e:
        raise StoreError(
            f"invalid page token {token!r}: pass the token of the previous page as it was"
        ) from e
    if not isinstance(offset, int) or offset < 0:
        raise StoreError(f"invalid page token {token!r}: pass the token of the previous page")
    return offset


def check_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"an experiment name must be a non-empty string, got {name!r}")
    return name


def experiment_int(experiment_id: object) -> int:
    try:
        return int(str(experiment_id))
    except ValueError:
        raise ModelNotFoundError(
            f"no experiment with id {experiment_id!r}: experiment ids are integers as strings "
            "(look one up with get_experiment_by_name)"
        ) from None


class SqlExperiments(RunStore):
    db: SqlDatabase

    def location_uri(self, location: str) -> str:
        """Where a recorded artifact location is: under the artifact root unless absolute or
        a URI (``s3://...``, ``mlflow-artifacts:/...``, as a server may record), kept as is."""
        return local_location(self.artifact_root, location)

    def _experiments(self, conn: Connection, rows: list[Sequence[Any]]) -> list[Experiment]:
        """Experiment rows with their tags (one query for all of them)."""
        tags: dict[int, dict[str, str]] = {row[0]: {} for row in rows}
        if rows:
            marks = ", ".join("?" * len(rows))
            for exp_id, key, value in conn.execute(
                f"SELECT experiment_id, key, value FROM experiment_tags "
                f"WHERE experiment_id IN ({marks})",
                list(tags),
            ):
                tags[exp_id][key] = value
        return [
            Experiment(
                experiment_id=str(row[0]),
                name=row[1],
                artifact_location=self.location_uri(row[2]),
                lifecycle_stage=row[3],
                tags=tags[row[0]],
                creation_time=row[4],
                last_update_time=row[5],
            )
            for row in rows
        ]

    def _one_experiment(self, where: str, args: Sequence[Any]) -> Experiment | None:
        with self.db.read() as conn:
            row = conn.execute(f"{_EXP_SQL} WHERE {where}", args).fetchone()
            return None if row is None else self._experiments(conn, [row])[0]

    def _artifact_location(self, location: str | None) -> str | None:
        """A user's artifact location as stored: an absolute local path (None: the default)."""
        if location is None or not str(location).strip():
            return None
        text = str(location)
        parsed = urlparse(text)
        if parsed.scheme == "file":
            text = unquote(parsed.path)
        elif len(parsed.scheme) > 1:
            raise StoreError(
                f"artifact location {location!r}: this store keeps artifacts on the local disk; "
                "give a local directory, or leave it out to use the store's artifact folder"
            )
        return str(Path(text).expanduser().absolute())

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        check_experiment_name(name)
        location = self._artifact_location(artifact_location)
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = ?", (name,)
            ).fetchone()
            if row is not None:
                deleted = (
                    " and is deleted: restore it (restore_experiment) or pick another name"
                    if row[1] == LifecycleStage.DELETED
                    else "; use it (set_experiment) or pick another name"
                )
                raise ModelExistsError(
                    f"an experiment named {name!r} already exists (id {row[0]}){deleted}"
                )
            now = now_ms()
            exp_id = self.db.insert_id(
                conn,
                "INSERT INTO experiments (name, artifact_location, creation_time, "
                "last_update_time) VALUES (?, ?, ?, ?)",
                (name, location or "", now, now),
                "experiment_id",
            )
            if location is None:
                conn.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    (str(exp_id), exp_id),
                )
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
                [(exp_id, str(k), str(v)) for k, v in (tags or {}).items()],
            )
        return str(exp_id)

    def get_or_create_experiment(self, name: str) -> Experiment:
        found = self._one_experiment("e.name = ?", (name,))
        if found is not None:
            return found
        try:
            exp_id = self.create_experiment(name)
        except ModelExistsError:  # another process created it in between
            return self.get_experiment_by_name(name)
        return self.get_experiment(exp_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        found = self._one_experiment("e.experiment_id = ?", (experiment_int(experiment_id),))
        if found is None:
            raise self._experiment_not_found(f"with id {experiment_id!r}", str(experiment_id))
        return found

    def get_experiment_by_name(self, name: str) -> Experiment:
        found = self._one_experiment("e.name = ?", (name,))
        if found is None:
            raise self._experiment_not_found(f"named {name!r}", name)
        return found

    def _experiment_not_found(self, what: str, wanted: str) -> ModelNotFoundError:
        rows = self.db.connection().execute(
            "SELECT experiment_id, name FROM experiments ORDER BY experiment_id"
        )
        known = [(str(i), n) for i, n in rows]
        names = [n for _, n in known]
        return ModelNotFoundError(
            f"no experiment {what} in the store {self.uri}; experiments: "
            f"{listing([f'{n} (id {i})' for i, n in known], empty='(none)')}."
            f"{did_you_mean(wanted, names)}"
        )

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        stages = LifecycleStage.view_type_to_stages(view_type)
        where, params = compile_experiment_filter(filter_string)
        order = compile_experiment_order_by(list(order_by) if order_by else None)
        offset = decode_page_token(page_token)
        limit = NO_LIMIT if max_results is None else int(max_results) + 1
        sql = (
            f"{_EXP_SQL} WHERE e.lifecycle_stage IN ({', '.join('?' * len(stages))}) "
            f"AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?"
        )
        with self.db.read() as conn:
            rows = conn.execute(sql, [*stages, *params, limit, offset]).fetchall()
            more = max_results is not None and len(rows) > max_results
            found = self._experiments(conn, rows[:max_results] if more else rows)
        return PagedList(found, encode_page_token(offset + len(found)) if more else None)

    def _set_stage(self, experiment_id: str, stage: str) -> None:
        exp_id = experiment_int(experiment_id)
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT lifecycle_stage, name FROM experiments WHERE experiment_id = ?", (exp_id,)
            ).fetchone()
            if row is None:
                raise self._experiment_not_found(f"with id {experiment_id!r}", str(experiment_id))
            if row[0] == stage:
                raise ModelNotFoundError(
                    f"experiment {experiment_id} ({row[1]!r}) is already {stage}"
                )
            conn.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
                "WHERE experiment_id = ?",
                (stage, now_ms(), exp_id),
            )
            # as MLflow does: the experiment's runs are deleted and restored with it
            conn.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?",
                (stage, now_ms() if stage == LifecycleStage.DELETED else None, exp_id),
            )

    def delete_experiment(self, experiment_id: str) -> None:
        self._set_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_stage(experiment_id, LifecycleStage.ACTIVE)

    def _active_experiment(self, conn: Connection, experiment_id: str) -> tuple[int, str]:
        """The id and artifact location of an active experiment, inside a write."""
        exp_id = experiment_int(experiment_id)
        row = conn.execute(
            "SELECT lifecycle_stage, artifact_location, name FROM experiments "
            "WHERE experiment_id = ?",
            (exp_id,),
        ).fetchone()
        if row is None:
            raise self._experiment_not_found(f"with id {experiment_id!r}", str(experiment_id))
        if row[0] != LifecycleStage.ACTIVE:
            raise StoreError(
                f"experiment {experiment_id} ({row[2]!r}) is deleted; restore it first "
                "(restore_experiment)"
            )
        return exp_id, row[1]

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        check_experiment_name(new_name)
        with self.db.write() as conn:
            exp_id, _ = self._active_experiment(conn, experiment_id)
            taken = conn.execute(
                "SELECT experiment_id FROM experiments WHERE name = ? AND experiment_id != ?",
                (new_name, exp_id),
            ).fetchone()
            if taken is not None:
                raise ModelExistsError(
                    f"an experiment named {new_name!r} already exists (id {taken[0]}); "
                    "pick another name"
                )
            conn.execute(
                "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                (new_name, now_ms(), exp_id),
            )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str | None) -> None:
        with self.db.write() as conn:
            exp_id, _ = self._active_experiment(conn, experiment_id)
            if value is None:
                cur = conn.execute(
                    "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                    (exp_id, key),
                )
                if cur.rowcount == 0:
                    raise ModelNotFoundError(f"experiment {experiment_id} has no tag {key!r}")
            else:
                conn.execute(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                    (exp_id, key, value),
                )
            conn.execute(
                "UPDATE experiments SET last_update_time = ? WHERE experiment_id = ?",
                (now_ms(), exp_id),
            )
