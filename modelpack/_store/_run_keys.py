"""The param, metric and tag keys of an experiment's runs (``Store.run_keys``).

A SQL store answers with a query or two per entity (params, latest metrics, tags), picked by
where the runs are: when the chosen experiments hold every run of the store (one experiment,
or all of them: the usual case), a plain ``DISTINCT key`` over the table (an index scan: the
tables are indexed by key); when they hold few, one pass over their rows; when they hold most,
the keys of the other runs are counted and taken away instead. Every run counts, the oldest
as much as the newest. Other stores (a server reached over HTTP) read the keys of the newest
``SAMPLE_RUNS`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from modelpack._store._base import RunStore

__all__ = ["FEW_RUNS", "SAMPLE_RUNS", "sampled_keys", "sql_keys"]

#: the newest runs read for their keys when the store cannot be asked directly
SAMPLE_RUNS = 500
#: the entity -> the table holding its keys (one row per run and key)
_TABLES = {"params": "params", "metrics": "latest_metrics", "tags": "run_tags"}
#: up to this many chosen runs, their rows are read without first counting the store's runs
FEW_RUNS = 5000


def _chosen_keys(conn: Any, table: str, experiments: list[int]) -> list[str]:
    """The keys of the chosen experiments' runs: one pass over their rows, each looked up by
    (run_id, key), the table's primary key. CROSS JOIN keeps the runs outside in SQLite,
    whose planner would otherwise walk the whole table in key order; PostgreSQL plans it as
    the inner join it is."""
    marks = ", ".join("?" * len(experiments))
    sql = (
        f"SELECT DISTINCT t.key FROM runs r CROSS JOIN {table} t "
        f"WHERE t.run_id = r.run_id AND r.experiment_id IN ({marks})"
    )
    return [row[0] for row in conn.execute(sql, experiments)]


def _keys_but_others(conn: Any, table: str, experiments: list[int]) -> list[str]:
    """The same keys when the chosen experiments hold most runs: a key is theirs unless every
    run having it is another experiment's (one row per run and key, so counts compare)."""
    marks = ", ".join("?" * len(experiments))
    totals = conn.execute(f"SELECT key, COUNT(*) FROM {table} GROUP BY key").fetchall()
    others = conn.execute(
        f"SELECT t.key, COUNT(*) FROM runs r CROSS JOIN {table} t WHERE t.run_id = r.run_id "
        f"AND r.experiment_id NOT IN ({marks}) GROUP BY t.key",
        experiments,
    ).fetchall()
    elsewhere = dict(others)
    return [key for key, count in totals if count > elsewhere.get(key, 0)]


def _all_keys(conn: Any, table: str) -> list[str]:
    return [row[0] for row in conn.execute(f"SELECT DISTINCT key FROM {table}")]


def sql_keys(conn: Any, experiments: list[int] | None) -> dict[str, list[str]]:
    """Each entity's keys, by the cheapest of three queries for where the runs are."""
    if experiments is None:
        return {name: sorted(_all_keys(conn, table)) for name, table in _TABLES.items()}
    marks = ", ".join("?" * len(experiments))
    chosen = conn.execute(
        f"SELECT COUNT(*) FROM runs WHERE experiment_id IN ({marks})", experiments
    ).fetchone()[0]
    if not chosen:
        return {name: [] for name in _TABLES}
    total = None
    if chosen > FEW_RUNS:
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    out = {}
    for name, table in _TABLES.items():
        if chosen == total:
            keys = _all_keys(conn, table)
        elif total is None or chosen <= total - chosen:
            keys = _chosen_keys(conn, table, experiments)
        else:
            keys = _keys_but_others(conn, table, experiments)
        out[name] = sorted(keys)
    return out


def sampled_keys(store: RunStore, experiment_ids: Sequence[str] | None) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {name: set() for name in _TABLES}
    ids = None if experiment_ids is None else list(experiment_ids)
    for run in store.search_runs(ids, max_results=SAMPLE_RUNS):
        found["params"].update(run.data.params)
        found["metrics"].update(run.data.metrics)
        found["tags"].update(run.data.tags)
    return {name: sorted(keys) for name, keys in found.items()}
