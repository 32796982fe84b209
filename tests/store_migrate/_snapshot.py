"""Everything a store holds, in a form two stores can be compared by (ids left out)."""

from __future__ import annotations

from typing import Any

from modelpack._store import Store, ViewType
from modelpack._store._migrate import MIGRATED_FROM, MIGRATING

_SKIP_TAGS = {MIGRATED_FROM, MIGRATING, "mlflow.log-model.history", "mlflow.parentRunId"}


def _files(store: Store, run_id: str, path: str | None = None) -> list[tuple[str, int | None]]:
    found = []
    for info in store.list_artifacts(run_id, path):
        if info.is_dir:
            found += _files(store, run_id, info.path)
        else:
            found.append((info.path, info.file_size))
    return sorted(found)


def _holder(tags: dict[str, str]) -> bool:
    """A run a migration made to hold a version registered from a path."""
    return "::models:/" in tags.get(MIGRATED_FROM, "")


def snapshot(store: Store, *, holders: bool = False) -> dict[str, Any]:
    """Experiments, runs (by experiment and run name) and the registry of ``store``.

    ``holders``: keep the runs a migration made for versions registered from a path.
    """
    runs: dict[tuple[str, str | None], Any] = {}
    names: dict[str, str | None] = {}
    experiments = {}
    for exp in store.list_experiments():
        experiments[exp.name] = (exp.lifecycle_stage, exp.tags)
        for run in store.search_runs([exp.experiment_id], run_view_type=ViewType.ALL):
            if holders or not _holder(run.data.tags):
                names[run.info.run_id] = run.info.run_name
    for exp in store.list_experiments():
        for run in store.search_runs([exp.experiment_id], run_view_type=ViewType.ALL):
            tags = run.data.tags
            if not holders and _holder(tags):
                continue
            info = run.info
            runs[(exp.name, info.run_name)] = {
                "params": run.data.params,
                "metrics": run.data.metrics,
                "history": {
                    k: [
                        (m.value, m.timestamp, m.step)
                        for m in store.get_metric_history(info.run_id, k)
                    ]
                    for k in sorted(run.data.metrics)
                },
                "tags": {k: v for k, v in tags.items() if k not in _SKIP_TAGS},
                "parent": names.get(tags.get("mlflow.parentRunId", "")),
                "status": info.status,
                "times": (info.start_time, info.end_time),
                "lifecycle": info.lifecycle_stage,
                "files": _files(store, info.run_id),
                "models": sorted(m.artifact_path for m in store.list_logged_models(info.run_id)),
            }
    registry = {}
    for model in store.search_registered_models():
        versions = store.search_model_versions(f"name = '{model.name}'")
        registry[model.name] = {
            "description": model.description,
            "tags": model.tags,
            "aliases": model.aliases,
            "versions": sorted(
                (
                    v.version,
                    v.current_stage,
                    v.description or None,
                    {k: t for k, t in v.tags.items() if k != MIGRATED_FROM},
                    names.get(v.run_id or ""),
                )
                for v in versions
            ),
        }
    return {"experiments": experiments, "runs": runs, "registry": registry}
