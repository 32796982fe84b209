"""The store's entities as MLflow's REST API writes them (proto field names, ints as ints).

Also where artifact URIs are rewritten: the server hands clients ``mlflow-artifacts:/<path>``
URIs, which MLflow's client (and modelpack's) read through the proxy endpoints, whatever the
storage behind ``--artifacts-destination`` is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelpack._store import Experiment, Metric, ModelVersion, RegisteredModel, Run

__all__ = [
    "ARTIFACTS_SCHEME",
    "experiment_json",
    "json_number",
    "metric_json",
    "model_version_json",
    "registered_model_json",
    "run_artifact_path",
    "run_json",
    "tags_json",
]

ARTIFACTS_SCHEME = "mlflow-artifacts:"


def tags_json(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def experiment_json(exp: Experiment) -> dict[str, Any]:
    return _drop_none(
        {
            "experiment_id": exp.experiment_id,
            "name": exp.name,
            "artifact_location": f"{ARTIFACTS_SCHEME}/{exp.experiment_id}",
            "lifecycle_stage": exp.lifecycle_stage,
            "creation_time": exp.creation_time,
            "last_update_time": exp.last_update_time,
            "tags": tags_json(exp.tags),
        }
    )


def run_artifact_path(experiment_id: str, run_id: str) -> str:
    """Where a run's artifacts live under the artifacts destination (MLflow's layout)."""
    return f"{experiment_id}/{run_id}/artifacts"


def json_number(value: float) -> float | str:
    """JSON has no NaN or infinity: MLflow's JSON (protobuf's) writes them as strings."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric_json(metric: Metric) -> dict[str, Any]:
    return {
        "key": metric.key,
        "value": json_number(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def run_info_json(run: Run) -> dict[str, Any]:
    info = run.info
    return _drop_none(
        {
            "run_id": info.run_id,
            "run_uuid": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "user_id": info.user_id,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": f"{ARTIFACTS_SCHEME}/{run_artifact_path(info.experiment_id, info.run_id)}",
            "lifecycle_stage": info.lifecycle_stage,
        }
    )


def run_json(run: Run, *, metrics: list[Metric] | None = None) -> dict[str, Any]:
    """A run; ``metrics`` gives the latest values with their step and timestamp when known."""
    if metrics is None:
        metrics = [Metric(k, v, 0, 0) for k, v in run.data.metrics.items()]
    return {
        "info": run_info_json(run),
        "data": {
            "metrics": [metric_json(m) for m in metrics],
            "params": tags_json(run.data.params),
            "tags": tags_json(run.data.tags),
        },
        "inputs": {},
        "outputs": {},
    }


def model_version_json(mv: ModelVersion, *, model_id: str | None = None) -> dict[str, Any]:
    return _drop_none(
        {
            "name": mv.name,
            "version": str(mv.version),
            "creation_timestamp": mv.creation_timestamp,
            "last_updated_timestamp": mv.last_updated_timestamp,
            "user_id": mv.user_id,
            "current_stage": mv.current_stage,
            "description": mv.description or "",
            "source": mv.source,
            "run_id": mv.run_id or "",
            "status": mv.status,
            "status_message": mv.status_message,
            "tags": tags_json({k: v for k, v in mv.tags.items() if k != MODEL_ID_TAG}),
            "run_link": mv.run_link or "",
            "aliases": list(mv.aliases),
            "model_id": model_id or mv.tags.get(MODEL_ID_TAG),
        }
    )


#: the version tag that keeps the MLflow 3 logged model a version was registered from
MODEL_ID_TAG = "mlflow.modelpack.model_id"


def registered_model_json(rm: RegisteredModel) -> dict[str, Any]:
    return _drop_none(
        {
            "name": rm.name,
            "creation_timestamp": rm.creation_timestamp,
            "last_updated_timestamp": rm.last_updated_timestamp,
            "description": rm.description or "",
            "latest_versions": [model_version_json(v) for v in rm.latest_versions],
            "tags": tags_json(rm.tags),
            "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(rm.aliases.items())],
        }
    )
