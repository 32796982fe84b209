"""The runs half of the SQL store (experiments in ``_sql_experiments``)."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelpack._store._artifacts import LocalArtifacts
from modelpack._store._context import TAG_RUN_NAME, random_run_name
from modelpack._store._dialect import Connection, SqlDatabase
from modelpack._store._entities import (
    RUN_STATUSES,
    LifecycleStage,
    LoggedModel,
    Metric,
    NewRun,
    PagedList,
    Run,
    RunData,
    RunInfo,
    ViewType,
    now_ms,
)
from modelpack._store._filter import compile_search
from modelpack._store._hints import did_you_mean, listing
from modelpack._store._sql_experiments import (
    SqlExperiments,
    decode_page_token,
    encode_page_token,
    experiment_int,
)
from modelpack.exceptions import ModelNotFoundError, StoreError

__all__ = ["LATEST_IS_NEWER", "METRIC_ROW", "SqlRuns", "check_params", "latest_of", "nan_null"]

_RUN_COLUMNS = (
    "r.run_id, r.run_name, r.experiment_id, r.status, r.start_time, r.end_time, r.user_id, "
    "r.artifact_location, r.lifecycle_stage"
)
_UPSERT_TAG = (
    "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) "
    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
)
_CHUNK = 500  # keep IN (...) lists well under SQLite's bound-parameter limit


def metric_from_db(value: float | None) -> float:
    """NaN is stored as NULL (SQLite's way, kept on PostgreSQL); turn it back into NaN."""
    return math.nan if value is None else float(value)


class SqlRuns(SqlExperiments, LocalArtifacts):
    db: SqlDatabase

    # ------------------------------------------------------------------ runs
    def create_run(self, new: NewRun) -> Run:
        run_id = uuid.uuid4().hex
        name = new.run_name or new.tags.get(TAG_RUN_NAME) or random_run_name()
        tags = {**new.tags, TAG_RUN_NAME: name}
        with self.db.write(serial=False) as conn:
            exp_id, location = self._active_experiment(conn, new.experiment_id)
            conn.execute(
                "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, "
                "user_id, artifact_location) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?)",
                (run_id, exp_id, name, new.start_time, new.user_id, f"{location}/{run_id}"),
            )
            conn.executemany(
                "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)",
                [(run_id, k, v) for k, v in tags.items()],
            )
        # what was just written: reading it back would cost a transaction more
        row = (run_id, name, exp_id, "RUNNING", new.start_time, None, new.user_id,
               f"{location}/{run_id}", LifecycleStage.ACTIVE)  # fmt: skip
        return self._run_of(row, self.location_uri(""), RunData(tags=tags), [])

    def update_run_info(
        self, run_id: str, *, status: str, end_time: int | None, run_name: str | None = None
    ) -> None:
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
        with self.db.write(serial=False) as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, end_time = ?, run_name = COALESCE(?, run_name) "
                "WHERE run_id = ?",
                (status, end_time, run_name, run_id),
            )
            if cur.rowcount == 0:
                raise self._run_not_found(conn, run_id)
            if run_name:
                conn.execute(
                    _UPSERT_TAG,
                    (run_id, TAG_RUN_NAME, run_name),
                )

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        """Delete or restore a run (doing it twice is fine, as in MLflow)."""
        with self.db.write(serial=False) as conn:
            cur = conn.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?",
                (stage, now_ms() if stage == LifecycleStage.DELETED else None, run_id),
            )
            if cur.rowcount == 0:
                raise self._run_not_found(conn, run_id)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise self._run_not_found(conn, run_id)
            return self._load_runs(conn, [row])[0]

    def _run_not_found(self, conn: Connection, run_id: str) -> ModelNotFoundError:
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        similar = [
            r[0]
            for r in conn.execute(
                "SELECT run_id FROM runs WHERE run_id LIKE ? LIMIT 20", (str(run_id)[:4] + "%",)
            )
        ]
        recent = [
            f"{r[0]} ({r[1] or 'unnamed'})"
            for r in conn.execute(
                "SELECT run_id, run_name FROM runs ORDER BY start_time DESC LIMIT 5"
            )
        ]
        return ModelNotFoundError(
            f"no run with id {run_id!r} in the store {self.uri} ({total} runs; most recent: "
            f"{listing(recent, empty='none')}).{did_you_mean(str(run_id), similar)} List runs "
            "with `modelpack runs list`.",
            uri=f"runs:/{run_id}",
        )

    def _load_runs(self, conn: Connection, rows: list[Sequence[Any]]) -> list[Run]:
        """Attach params, latest metrics, tags and logged models to run rows, in bulk."""
        ids = [row[0] for row in rows]
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
        latest: dict[str, dict[str, Metric]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        models: dict[str, list[str]] = {i: [] for i in ids}
        found: list[tuple[str, int, str]] = []
        step_size = _CHUNK // 4  # each id is bound four times
        for start in range(0, len(ids), step_size):
            chunk = ids[start : start + step_size]
            marks = ", ".join("?" * len(chunk))
            # one statement for the four tables (one round trip on PostgreSQL, not four)
            sql = (
                "SELECT 0, run_id, key, value, CAST(NULL AS DOUBLE PRECISION), 0, 0 FROM params "
                f"WHERE run_id IN ({marks}) UNION ALL "
                "SELECT 1, run_id, key, value, CAST(NULL AS DOUBLE PRECISION), 0, 0 FROM run_tags "
                f"WHERE run_id IN ({marks}) UNION ALL "
                "SELECT 2, run_id, key, CAST(NULL AS TEXT), value, timestamp, step "
                f"FROM latest_metrics WHERE run_id IN ({marks}) UNION ALL "
                "SELECT 3, run_id, artifact_path, CAST(NULL AS TEXT), "
                "CAST(NULL AS DOUBLE PRECISION), creation_time, 0 "
                f"FROM logged_models WHERE run_id IN ({marks})"
            )
            for kind, run_id, key, text, number, timestamp, step in conn.execute(sql, chunk * 4):
                if kind == 0:
                    params[run_id][key] = text
                elif kind == 1:
                    tags[run_id][key] = text
                elif kind == 2:
                    value = metrics[run_id][key] = metric_from_db(number)
                    latest[run_id][key] = Metric(key, value, timestamp, step)
                else:
                    found.append((run_id, timestamp, key))
        for run_id, _, path in sorted(found, key=lambda m: (m[1], m[2])):
            models[run_id].append(path)
        root = self.location_uri("")  # then os.path.join: pathlib costs 20 us a run here
        return [
            self._run_of(
                row,
                root,
                RunData(
                    params=params[row[0]],
                    metrics=metrics[row[0]],
                    tags=tags[row[0]],
                    latest_metrics=latest[row[0]],
                ),
                models[row[0]],
            )
            for row in rows
        ]

    def _run_of(self, row: Sequence[Any], root: str, data: RunData, models: list[str]) -> Run:
        """A run from its row (``_RUN_COLUMNS``), the artifact root's URI and its data."""
        location = row[7]
        return Run(
            info=RunInfo(
                run_id=row[0],
                run_name=row[1],
                experiment_id=str(row[2]),
                status=row[3],
                start_time=row[4],
                end_time=row[5],
                user_id=row[6],
                artifact_uri=os.path.join(root, location)
                if ":" not in location
                else self.location_uri(location),
                lifecycle_stage=row[8],
            ),
            data=data,
            logged_models=tuple(models),
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        stages = LifecycleStage.view_type_to_stages(run_view_type)
        joins, join_params, where, params, order = compile_search(
            filter_string, list(order_by) if order_by else None
        )
        offset = decode_page_token(page_token)
        scope, scope_params = "1 = 1", []
        if experiment_ids is not None:
            scope = f"r.experiment_id IN ({', '.join('?' * len(experiment_ids))})"
            scope_params = [experiment_int(e) for e in experiment_ids]
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM runs r {joins} "
            f"WHERE r.lifecycle_stage IN ({', '.join('?' * len(stages))}) AND {scope} "
            f"AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?"
        )
        args = [*join_params, *stages, *scope_params, *params, int(max_results) + 1, offset]
        with self.db.read() as conn:
            rows = conn.execute(sql, args).fetchall()
            more = len(rows) > max_results
            runs = self._load_runs(conn, rows[:max_results])
        return PagedList(runs, encode_page_token(offset + len(runs)) if more else None)

    def run_keys(self, experiment_ids: Sequence[str] | None) -> dict[str, list[str]]:
        from modelpack._store._run_keys import sql_keys

        experiments = None
        if experiment_ids is not None:
            experiments = [experiment_int(e) for e in experiment_ids]
        with self.db.read() as conn:
            return sql_keys(conn, experiments)

    # ------------------------------------------------------------------ params, metrics, tags
    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] = {},
        metrics: Sequence[Metric] = (),
        tags: Mapping[str, str] = {},
    ) -> None:
        # few round trips: the first write is guarded by "the run is active" and its row count
        # tells whether it was (no SELECT first); empty parts send nothing
        with self.db.write(serial=False) as conn:
            if metrics:
                active = self._insert_metrics(conn, run_id, metrics)
            elif tags:
                active = _upsert_tags(conn, run_id, tags, guarded=True)
            else:
                active = self._is_active(conn, run_id)
            if not active:
                raise self._not_active(conn, run_id)
            _insert_params(conn, run_id, params)
            if metrics and tags:
                _upsert_tags(conn, run_id, tags, guarded=False)

    def _insert_metrics(self, conn: Connection, run_id: str, metrics: Sequence[Metric]) -> bool:
        """Add the metric values and update each key's latest one, if the run is active.

        Returns whether it was (then all were written; otherwise none).
        """
        return _insert_metrics(conn, run_id, metrics)

    def _is_active(self, conn: Connection, run_id: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM runs WHERE run_id = ? AND lifecycle_stage = ?",
            (run_id, LifecycleStage.ACTIVE),
        ).fetchone()
        return row is not None

    def _not_active(self, conn: Connection, run_id: str) -> Exception:
        """The error for a write to a run that is missing or deleted."""
        row = conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return self._run_not_found(conn, run_id)
        return StoreError(f"run {run_id} is deleted; restore it (restore_run) before writing to it")

    def _check_active(self, conn: Connection, run_id: str) -> None:
        if not self._is_active(conn, run_id):
            raise self._not_active(conn, run_id)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write(serial=False) as conn:
            self._check_active(conn, run_id)
            cur = conn.execute("DELETE FROM run_tags WHERE run_id = ? AND key = ?", (run_id, key))
            if cur.rowcount == 0:
                tags = self.get_run(run_id).data.tags
                raise ModelNotFoundError(
                    f"run {run_id} has no tag {key!r}; tags: {listing(sorted(tags), empty='(none)')}"
                )

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self.db.read() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise self._run_not_found(conn, run_id)
            rows = conn.execute(
                "SELECT key, value, timestamp, step FROM metrics WHERE run_id = ? AND key = ? "
                "ORDER BY step, timestamp, seq",
                (run_id, key),
            ).fetchall()
        return [Metric(k, metric_from_db(v), t, s) for k, v, t, s in rows]

    # ------------------------------------------------------------------ artifacts, models
    def run_location(self, run_id: str) -> str:
        """The run's artifact location as recorded (relative to the artifact root, or a URI)."""
        conn = self.db.connection()
        row = conn.execute(
            "SELECT artifact_location FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise self._run_not_found(conn, run_id)
        return str(row[0])

    def run_artifact_dir(self, run_id: str) -> Path:
        return self.artifact_root / self.run_location(run_id)

    def record_logged_model(self, model: LoggedModel) -> None:
        with self.db.write(serial=False) as conn:
            try:
                conn.execute(
                    "INSERT INTO logged_models (run_id, artifact_path, model_uuid, flavors, "
                    "creation_time) VALUES (?, ?, ?, ?, ?)",
                    (
                        model.run_id,
                        model.artifact_path,
                        model.model_uuid,
                        json.dumps(list(model.flavors)),
                        model.creation_time,
                    ),
                )
            except self.db.IntegrityError as e:
                raise StoreError(
                    f"run {model.run_id} already has a model at {model.artifact_path!r}; "
                    "log it under another name"
                ) from e

    def list_logged_models(self, run_id: str) -> list[LoggedModel]:
        rows = (
            self.db.connection()
            .execute(
                "SELECT run_id, artifact_path, model_uuid, flavors, creation_time FROM logged_models "
                "WHERE run_id = ? ORDER BY creation_time, artifact_path",
                (run_id,),
            )
            .fetchall()
        )
        return [LoggedModel(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4]) for r in rows]


#: a write to a run's data happens only while the run is active
_ACTIVE = "EXISTS (SELECT 1 FROM runs WHERE run_id = ? AND lifecycle_stage = 'active')"
#: rows per multi-row statement (5 values a row stays under SQLite's old 999-parameter bound)
_ROWS = 150


def _chunks(rows: Sequence[tuple[Any, ...]]) -> list[Sequence[tuple[Any, ...]]]:
    return [rows[i : i + _ROWS] for i in range(0, len(rows), _ROWS)]


def _values(rows: Sequence[tuple[Any, ...]], row: str) -> tuple[str, list[Any]]:
    """``VALUES`` rows of the shape ``row`` (its placeholders) and their flat arguments."""
    return ", ".join([row] * len(rows)), [value for r in rows for value in r]


def _insert_params(conn: Connection, run_id: str, params: Mapping[str, str]) -> None:
    """Params are write-once, as in MLflow: the same value again is fine, a new one is not.

    Inserted with ``DO NOTHING`` on a key already set, then the keys not inserted are compared
    with what is there: a concurrent writer of the same key has committed by then (the
    insert waits for it), so the comparison sees its value without any lock.
    """
    for chunk in _chunks([(run_id, k, v) for k, v in params.items()]):
        values, args = _values(chunk, "(?, ?, ?)")
        cur = conn.execute(
            f"INSERT INTO params (run_id, key, value) VALUES {values} "
            "ON CONFLICT (run_id, key) DO NOTHING",
            args,
        )
        if cur.rowcount != len(chunk):
            check_params(conn, run_id, {key: value for _, key, value in chunk})


def check_params(conn: Connection, run_id: str, params: Mapping[str, str]) -> None:
    """Refuse params whose stored value differs from the given one (see ``_insert_params``)."""
    items = list(params.items())
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        stored = dict(
            conn.execute(
                f"SELECT key, value FROM params WHERE run_id = ? AND key IN ({marks})",
                [run_id, *(key for key, _ in chunk)],
            ).fetchall()
        )
        for key, value in chunk:
            if stored.get(key, value) != value:
                raise StoreError(
                    f"param {key!r} of run {run_id} is already {stored[key]!r}; params cannot "
                    f"change (tried {value!r}). Log it under another key, or start a new run (a "
                    "nested run per trial keeps them apart)."
                )


def _upsert_tags(conn: Connection, run_id: str, tags: Mapping[str, str], *, guarded: bool) -> bool:
    """Set the tags; ``guarded``: only if the run is active (returns whether it was)."""
    for n, chunk in enumerate(_chunks([(k, v) for k, v in tags.items()])):
        values, args = _values(chunk, "(?, ?)")
        if guarded and n == 0:
            cur = conn.execute(
                f"INSERT INTO run_tags (run_id, key, value) SELECT ?, v.* FROM (VALUES {values}) "
                f"AS v WHERE {_ACTIVE} {_ON_TAG_CONFLICT}",
                [run_id, *args, run_id],
            )
            if cur.rowcount != len(chunk):
                return False
        else:
            conn.execute(
                f"INSERT INTO run_tags (run_id, key, value) SELECT ?, v.* FROM (VALUES {values}) "
                f"AS v WHERE 1 = 1 {_ON_TAG_CONFLICT}",
                [run_id, *args],
            )
    return True


_ON_TAG_CONFLICT = "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"


def nan_null(value: float) -> float | None:
    """NaN as NULL on both databases, so searches and ordering treat it alike (PostgreSQL
    would keep NaN and sort it above every number)."""
    return None if value != value else value


def latest_of(metrics: Sequence[Metric]) -> list[Metric]:
    """Each key's latest value in ``metrics``: the highest step, then the newest timestamp
    (the last logged on a tie)."""
    latest: dict[str, Metric] = {}
    for m in metrics:
        seen = latest.get(m.key)
        if seen is None or (m.step, m.timestamp) >= (seen.step, seen.timestamp):
            latest[m.key] = m
    return list(latest.values())


#: a metric value row; typed, since a column of NULLs alone (NaN) has no type on PostgreSQL
METRIC_ROW = "(?, CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT))"
#: keep a stored latest value unless the new one is at a higher step, or as high and as new
LATEST_IS_NEWER = (
    "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
    "AND excluded.timestamp >= latest_metrics.timestamp)"
)


def _insert_metrics(conn: Connection, run_id: str, metrics: Sequence[Metric]) -> bool:
    for n, chunk in enumerate(_chunks(_metric_rows(metrics))):
        values, args = _values(chunk, METRIC_ROW)
        guard, guard_args = (_ACTIVE, [run_id]) if n == 0 else ("1 = 1", [])
        cur = conn.execute(
            "INSERT INTO metrics (run_id, key, value, timestamp, step) "
            f"SELECT ?, v.* FROM (VALUES {values}) AS v WHERE {guard}",
            [run_id, *args, *guard_args],
        )
        if n == 0 and cur.rowcount != len(chunk):
            return False
    for chunk in _chunks([(run_id, *row) for row in _metric_rows(latest_of(metrics))]):
        values, args = _values(chunk, "(?, ?, ?, ?, ?)")
        conn.execute(
            "INSERT INTO latest_metrics (run_id, key, value, timestamp, step) "
            f"VALUES {values} ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, "
            f"timestamp = excluded.timestamp, step = excluded.step {LATEST_IS_NEWER}",
            args,
        )
    return True


def _metric_rows(metrics: Sequence[Metric]) -> list[tuple[Any, ...]]:
    return [(m.key, nan_null(m.value), m.timestamp, m.step) for m in metrics]
