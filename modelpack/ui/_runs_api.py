"""JSON for the experiments, runs, compare and run pages, read through the store interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelpack._store import Run, Store, ViewType
from modelpack.ui._keys import column_keys

__all__ = [
    "MAX_COMPARE",
    "MAX_PAGE",
    "experiments",
    "metric_histories",
    "run_detail",
    "run_rows",
    "runs_page",
]

#: the most runs one page of the table or one comparison holds
MAX_PAGE = 500
MAX_COMPARE = 1000


def experiments(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    found = store.search_experiments(ViewType.ACTIVE_ONLY, order_by=["experiment_id ASC"])
    return {
        "experiments": [
            {"experiment_id": e.experiment_id, "name": e.name, "tags": e.tags} for e in found
        ]
    }


def _row(run: Run) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user_id": info.user_id,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": run.data.tags,
        "models": list(run.logged_models),
    }


def _int(query: Mapping[str, str], name: str, default: int, *, top: int) -> int:
    text = query.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    if not 1 <= value <= top:
        raise ValueError(f"{name} must be between 1 and {top}, got {value}")
    return value


def _experiment_ids(query: Mapping[str, str]) -> list[str] | None:
    text = query.get("experiment_id", "")
    return [part for part in text.split(",") if part] or None


def runs_page(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of runs, sorted and filtered by the store (the filter is ``search_runs``')."""
    experiment_ids = _experiment_ids(query)
    order = query.get("order_by", "").strip()
    view = ViewType.from_string(query.get("view") or "active_only")
    page = store.search_runs(
        experiment_ids,
        filter_string=query.get("filter") or None,
        run_view_type=view,
        max_results=_int(query, "max_results", 50, top=MAX_PAGE),
        order_by=[order] if order else None,
        page_token=query.get("page_token") or None,
    )
    return {
        "runs": [_row(run) for run in page],
        "next_page_token": page.token,
        "columns": column_keys(store, experiment_ids),
    }


def _run_ids(query: Mapping[str, str]) -> list[str]:
    ids = [part for part in query.get("run_ids", "").split(",") if part]
    if not ids:
        raise ValueError("give run_ids=<id>,<id>,... (select runs on the runs page)")
    if len(ids) > MAX_COMPARE:
        raise ValueError(f"compare at most {MAX_COMPARE} runs at once, got {len(ids)}")
    return list(dict.fromkeys(ids))


def run_rows(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    """The selected runs, in the order given, for the compare page."""
    return {"runs": [_row(store.get_run(run_id)) for run_id in _run_ids(query)]}


def metric_histories(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    """``{run_id: [[step, timestamp, value], ...]}`` for one metric key of several runs."""
    key = query.get("key", "")
    if not key:
        raise ValueError("give key=<metric name>")
    out: dict[str, list[list[float]]] = {}
    for run_id in _run_ids(query):
        history = store.get_metric_history(run_id, key)
        out[run_id] = [[m.step, m.timestamp, m.value] for m in history]
    return {"key": key, "histories": out}


def run_detail(store: Store, run_id: str) -> dict[str, Any]:
    """Everything the run page shows except artifact contents."""
    run = store.get_run(run_id)
    row = _row(run)
    info = run.info
    tags = run.data.tags
    row["system"] = {
        "source": tags.get("mlflow.source.name"),
        "source_type": tags.get("mlflow.source.type"),
        "git_commit": tags.get("mlflow.source.git.commit"),
        "user": info.user_id or tags.get("mlflow.user"),
        "start_time": info.start_time,
        "end_time": info.end_time,
        "duration_ms": None if info.end_time is None else info.end_time - info.start_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
    }
    row["description"] = tags.get("mlflow.note.content")
    row["logged_models"] = [
        {
            "artifact_path": m.artifact_path,
            "flavors": list(m.flavors),
            "model_uuid": m.model_uuid,
            "creation_time": m.creation_time,
        }
        for m in store.list_logged_models(run_id)
    ]
    try:
        experiment = store.get_experiment(info.experiment_id)
        row["experiment_name"] = experiment.name
    except LookupError:
        row["experiment_name"] = None
    return row
