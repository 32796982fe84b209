"""Experiments, runs, metrics, params and tags: ``/api/2.0/mlflow/{experiments,runs,metrics}``."""

from __future__ import annotations

import json
from typing import Any

from modelpack._store import Metric, NewRun, ViewType, now_ms
from modelpack.server._errors import ApiError
from modelpack.server._request import Args
from modelpack.server._wire import (
    ARTIFACTS_SCHEME,
    experiment_json,
    metric_json,
    run_artifact_path,
    run_json,
)

__all__ = ["ROUTES", "latest_metrics", "view_type"]

_API = "/api/2.0/mlflow"
_RUN_ID = ("run_id", "run_uuid")
_HISTORY_TAG = "mlflow.log-model.history"


def view_type(args: Args, name: str) -> int:
    value = args.text(name)
    if value is None or value == "":
        return int(ViewType.ACTIVE_ONLY)
    if value.isdigit():
        return int(ViewType(int(value)))
    return int(ViewType.from_string(value))


def _page_size(args: Args, default: int, *, most: int = 50_000) -> int:
    size = args.integer("max_results", default=default)
    if size is None or size <= 0 or size > most:
        raise ApiError(f"max_results must be between 1 and {most}, got {size}")
    return int(size)


# ---------------------------------------------------------------- experiments
def create_experiment(server: Any, args: Args) -> dict[str, Any]:
    name = args.text("name", required=True)
    # the server decides where artifacts go (--artifacts-destination); a client's
    # artifact_location is not a place this server can write to
    exp_id = server.store.create_experiment(name, None, args.pairs("tags"))
    return {"experiment_id": exp_id}


def get_experiment(server: Any, args: Args) -> dict[str, Any]:
    exp = server.store.get_experiment(args.text("experiment_id", required=True))
    return {"experiment": experiment_json(exp)}


def get_experiment_by_name(server: Any, args: Args) -> dict[str, Any]:
    exp = server.store.get_experiment_by_name(args.text("experiment_name", required=True))
    return {"experiment": experiment_json(exp)}


def search_experiments(server: Any, args: Args) -> dict[str, Any]:
    found = server.store.search_experiments(
        view_type(args, "view_type"),
        max_results=_page_size(args, 1000),
        filter_string=args.text("filter") or None,
        order_by=args.strings("order_by") or None,
        page_token=args.text("page_token") or None,
    )
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


def delete_experiment(server: Any, args: Args) -> dict[str, Any]:
    server.store.delete_experiment(args.text("experiment_id", required=True))
    return {}


def restore_experiment(server: Any, args: Args) -> dict[str, Any]:
    server.store.restore_experiment(args.text("experiment_id", required=True))
    return {}


def update_experiment(server: Any, args: Args) -> dict[str, Any]:
    exp_id = args.text("experiment_id", required=True)
    new_name = args.text("new_name")
    if new_name:
        server.store.rename_experiment(exp_id, new_name)
    return {}


def set_experiment_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_experiment_tag(
        args.text("experiment_id", required=True),
        args.text("key", required=True),
        args.text("value", default=""),
    )
    return {}


def delete_experiment_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_experiment_tag(
        args.text("experiment_id", required=True), args.text("key", required=True), None
    )
    return {}


# ---------------------------------------------------------------- runs
def create_run(server: Any, args: Args) -> dict[str, Any]:
    new = NewRun(
        experiment_id=args.text("experiment_id") or "0",
        run_name=args.text("run_name") or None,
        user_id=args.text("user_id") or None,
        start_time=args.integer("start_time", default=None) or now_ms(),
        tags=args.pairs("tags"),
    )
    return {"run": run_json(server.store.create_run(new))}


def _run_id(args: Args) -> str:
    return str(args.first(*_RUN_ID, required=True))


def latest_metrics(store: Any, run: Any) -> list[Metric]:
    """Each metric's latest value with its step and timestamp (the run only holds values):
    highest step, then newest timestamp, then largest value, as MLflow picks it."""
    found = []
    for key in run.data.metrics:
        history = store.get_metric_history(run.info.run_id, key)
        if history:
            found.append(max(history, key=lambda m: (m.step, m.timestamp, m.value)))
    return found


def _run_answer(store: Any, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    return run_json(run, metrics=latest_metrics(store, run))


def get_run(server: Any, args: Args) -> dict[str, Any]:
    return {"run": _run_answer(server.store, _run_id(args))}


def update_run(server: Any, args: Args) -> dict[str, Any]:
    run_id = _run_id(args)
    run = server.store.get_run(run_id)
    status = args.text("status") or run.info.status
    end_time = args.integer("end_time", default=run.info.end_time)
    server.store.update_run_info(
        run_id, status=status, end_time=end_time, run_name=args.text("run_name") or None
    )
    return {"run_info": run_json(server.store.get_run(run_id))["info"]}


def delete_run(server: Any, args: Args) -> dict[str, Any]:
    server.store.delete_run(_run_id(args))
    return {}


def restore_run(server: Any, args: Args) -> dict[str, Any]:
    server.store.restore_run(_run_id(args))
    return {}


def _metric(item: dict[str, Any] | Args) -> Metric:
    args = item if isinstance(item, Args) else Args(item)
    key = args.text("key", required=True)
    value = args.number("value", required=True)
    timestamp = args.integer("timestamp", default=None)
    return Metric(
        key, value, now_ms() if timestamp is None else timestamp, args.integer("step", default=0)
    )


def log_metric(server: Any, args: Args) -> dict[str, Any]:
    server.store.log_batch(_run_id(args), metrics=[_metric(args)])
    return {}


def log_param(server: Any, args: Args) -> dict[str, Any]:
    key = args.text("key", required=True)
    server.store.log_batch(_run_id(args), params={key: args.text("value", default="")})
    return {}


def set_tag(server: Any, args: Args) -> dict[str, Any]:
    key = args.text("key", required=True)
    server.store.log_batch(_run_id(args), tags={key: args.text("value", default="")})
    return {}


def delete_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.delete_tag(_run_id(args), args.text("key", required=True))
    return {}


def log_batch(server: Any, args: Args) -> dict[str, Any]:
    run_id = _run_id(args)
    items = args.objects("metrics")
    metrics = [_metric(m) for m in items]
    linked = {m.key for m, item in zip(metrics, items) if item.get("model_id")}
    if linked:
        # MLflow 3's log_model logs the run's metrics again, linked to the new model; MLflow's
        # store keeps one row per identical value, so a repeat must not grow the history
        seen = {m for key in linked for m in server.store.get_metric_history(run_id, key)}
        metrics = [m for m in metrics if m not in seen]
    server.store.log_batch(
        run_id, params=args.pairs("params"), metrics=metrics, tags=args.pairs("tags")
    )
    return {}


def log_model(server: Any, args: Args) -> dict[str, Any]:
    """MLflow's record of a logged model on its run: the ``mlflow.log-model.history`` tag."""
    run_id = _run_id(args)
    text = args.text("model_json", required=True)
    try:
        model = json.loads(text)
    except ValueError as e:
        raise ApiError(f"model_json is not valid JSON: {e}") from e
    run = server.store.get_run(run_id)
    try:
        history = json.loads(run.data.tags.get(_HISTORY_TAG, "[]"))
    except ValueError:
        history = []
    history.append(model)
    server.store.log_batch(run_id, tags={_HISTORY_TAG: json.dumps(history)})
    return {}


def accept(server: Any, args: Args) -> dict[str, Any]:
    """Calls whose data this server does not keep yet (dataset inputs, model outputs): the run
    must exist, and the call succeeds."""
    server.store.get_run(_run_id(args))
    return {}


def search_runs(server: Any, args: Args) -> dict[str, Any]:
    found = server.store.search_runs(
        args.strings("experiment_ids") or None,
        filter_string=args.text("filter") or None,
        run_view_type=view_type(args, "run_view_type"),
        max_results=_page_size(args, 1000),
        order_by=args.strings("order_by") or None,
        page_token=args.text("page_token") or None,
    )
    # each metric's step and timestamp come with the page (the store's latest_metrics rows)
    runs = [
        run_json(
            r,
            metrics=[
                r.data.latest_metrics.get(key) or Metric(key, value, 0, 0)
                for key, value in r.data.metrics.items()
            ],
        )
        for r in found
    ]
    out: dict[str, Any] = {"runs": runs}
    if found.token:
        out["next_page_token"] = found.token
    return out


def get_metric_history(server: Any, args: Args) -> dict[str, Any]:
    history = server.store.get_metric_history(_run_id(args), args.text("metric_key", required=True))
    size = args.integer("max_results", default=None)
    start = (
        int(args.text("page_token") or 0) if (args.text("page_token") or "0").isdigit() else None
    )
    if start is None:
        raise ApiError("invalid page_token: pass the next_page_token of the previous answer")
    end = len(history) if not size else start + size
    out: dict[str, Any] = {"metrics": [metric_json(m) for m in history[start:end]]}
    if end < len(history):
        out["next_page_token"] = str(end)
    return out


def list_run_artifacts(server: Any, args: Args) -> dict[str, Any]:
    from modelpack._storage._base import clean_path, join

    run = server.store.get_run(_run_id(args))
    root = run_artifact_path(run.info.experiment_id, run.info.run_id)
    rel = clean_path(args.text("path"))
    files = []
    for info in server.storage.list(join(root, rel)):
        path = info.path[len(root) :].lstrip("/")
        entry: dict[str, Any] = {"path": path, "is_dir": info.is_dir}
        if info.file_size is not None:
            entry["file_size"] = info.file_size
        files.append(entry)
    return {"root_uri": f"{ARTIFACTS_SCHEME}/{root}", "files": files}


ROUTES: list[tuple[str, list[str], Any]] = [
    (f"{_API}/experiments/create", ["POST"], create_experiment),
    (f"{_API}/experiments/get", ["GET"], get_experiment),
    (f"{_API}/experiments/get-by-name", ["GET"], get_experiment_by_name),
    (f"{_API}/experiments/search", ["GET", "POST"], search_experiments),
    (f"{_API}/experiments/delete", ["POST"], delete_experiment),
    (f"{_API}/experiments/restore", ["POST"], restore_experiment),
    (f"{_API}/experiments/update", ["POST"], update_experiment),
    (f"{_API}/experiments/set-experiment-tag", ["POST"], set_experiment_tag),
    (f"{_API}/experiments/delete-experiment-tag", ["POST"], delete_experiment_tag),
    (f"{_API}/runs/create", ["POST"], create_run),
    (f"{_API}/runs/get", ["GET"], get_run),
    (f"{_API}/runs/update", ["POST"], update_run),
    (f"{_API}/runs/delete", ["POST"], delete_run),
    (f"{_API}/runs/restore", ["POST"], restore_run),
    (f"{_API}/runs/log-metric", ["POST"], log_metric),
    (f"{_API}/runs/log-parameter", ["POST"], log_param),
    (f"{_API}/runs/set-tag", ["POST"], set_tag),
    (f"{_API}/runs/delete-tag", ["POST"], delete_tag),
    (f"{_API}/runs/log-batch", ["POST"], log_batch),
    (f"{_API}/runs/log-model", ["POST"], log_model),
    (f"{_API}/runs/log-inputs", ["POST"], accept),
    (f"{_API}/runs/outputs", ["POST"], accept),
    (f"{_API}/runs/search", ["POST"], search_runs),
    (f"{_API}/metrics/get-history", ["GET"], get_metric_history),
    (f"{_API}/artifacts/list", ["GET"], list_run_artifacts),
]
