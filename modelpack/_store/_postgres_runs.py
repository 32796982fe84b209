"""Run data on PostgreSQL: a whole ``log_batch`` in one statement.

The SQL store's ``log_batch`` is several statements in a transaction (SQLite cannot put an
INSERT inside a WITH). PostgreSQL can, so here one statement checks that the run is active
and, only if it is, adds the metric values, updates the latest ones, sets the tags and
inserts the params. Without params that statement is the whole write: sent outside a
transaction it is its own (one round trip for a ``log_metric``, where a transaction costs
four). Params need their write-once check after the insert, so a batch with params runs the
statement in a transaction and, when some key was already set, compares the stored values
before it commits (as ``_sql_runs`` does).

No lock is taken: the statement's parts are inserts and ``ON CONFLICT`` upserts keyed by run,
safe beside any other writer (see ``_postgres_db``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from modelpack._store._entities import Metric
from modelpack._store._postgres_db import PostgresDatabase
from modelpack._store._sql_runs import (
    LATEST_IS_NEWER,
    METRIC_ROW,
    SqlRuns,
    check_params,
    latest_of,
    nan_null,
)

__all__ = ["PostgresRuns"]

#: rows past which a batch goes the general way (several statements): PostgreSQL takes at
#: most 65,535 parameters in one statement, and MLflow's own bound is 1,000 metrics a batch
_MAX_ROWS = 5000


class PostgresRuns(SqlRuns):
    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] = {},
        metrics: Sequence[Metric] = (),
        tags: Mapping[str, str] = {},
    ) -> None:
        size = len(params) + len(metrics) + len(tags)
        if not size or size > _MAX_ROWS:
            return super().log_batch(run_id, params=params, metrics=metrics, tags=tags)
        sql, args = batch_statement(run_id, params=params, metrics=metrics, tags=tags)
        alone = cast(PostgresDatabase, self.db).connection()
        if not params and not alone.in_transaction:
            if not alone.execute_alone(sql, args).fetchone()[0]:
                raise self._not_active(alone, run_id)
            return
        with self.db.write(serial=False) as conn:
            active, inserted = conn.execute(sql, args).fetchone()
            if not active:
                raise self._not_active(conn, run_id)
            if inserted != len(params):
                check_params(conn, run_id, params)


def _values(rows: Sequence[tuple[Any, ...]], row: str, args: list[Any]) -> str:
    """``VALUES`` rows shaped ``row`` (its placeholders); their values go onto ``args``."""
    for r in rows:
        args.extend(r)
    return "VALUES " + ", ".join([row] * len(rows))


def batch_statement(
    run_id: str,
    *,
    params: Mapping[str, str],
    metrics: Sequence[Metric],
    tags: Mapping[str, str],
) -> tuple[str, list[Any]]:
    """The one statement writing a batch if the run is active; it answers whether the run
    was, and (with params) how many params it inserted (the others were already set)."""
    args: list[Any] = [run_id]
    parts = [
        "ok AS (SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ? "
        "AND lifecycle_stage = 'active') AS active)"
    ]
    only_if = "WHERE (SELECT active FROM ok)"
    if metrics:
        args.append(run_id)
        rows = [(m.key, nan_null(m.value), m.timestamp, m.step) for m in metrics]
        values = _values(rows, METRIC_ROW, args)
        parts.append(
            "m AS (INSERT INTO metrics (run_id, key, value, timestamp, step) "
            f"SELECT ?, v.* FROM ({values}) AS v {only_if})"
        )
        args.append(run_id)
        latest = [(m.key, nan_null(m.value), m.timestamp, m.step) for m in latest_of(metrics)]
        values = _values(latest, METRIC_ROW, args)
        parts.append(
            "l AS (INSERT INTO latest_metrics (run_id, key, value, timestamp, step) "
            f"SELECT ?, v.* FROM ({values}) AS v {only_if} ON CONFLICT (run_id, key) DO UPDATE "
            "SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step "
            f"{LATEST_IS_NEWER})"
        )
    if tags:
        args.append(run_id)
        values = _values(list(tags.items()), "(?, ?)", args)
        parts.append(
            f"t AS (INSERT INTO run_tags (run_id, key, value) SELECT ?, v.* FROM ({values}) "
            f"AS v {only_if} ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value)"
        )
    answer = "SELECT active FROM ok"
    if params:
        args.append(run_id)
        values = _values(list(params.items()), "(?, ?)", args)
        parts.append(
            f"p AS (INSERT INTO params (run_id, key, value) SELECT ?, v.* FROM ({values}) AS v "
            f"{only_if} ON CONFLICT (run_id, key) DO NOTHING RETURNING 1)"
        )
        answer = "SELECT active, (SELECT COUNT(*) FROM p) FROM ok"
    return f"WITH {', '.join(parts)} {answer}", args
