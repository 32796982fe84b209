"""MLflow's REST JSON to the store's entities (and the few request shapes that need care).

Field names are those of MLflow's protobuf messages (``service.proto``,
``model_registry.proto``) in their JSON form: 64-bit integers may arrive as strings, absent
fields are left out, tags are lists of ``{"key", "value"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelpack._store._entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
)

__all__ = [
    "MODEL_HISTORY_TAG",
    "experiment_from",
    "logged_models_from",
    "metric_from",
    "model_version_from",
    "registered_model_from",
    "run_from",
    "tag_list",
]

#: the run tag listing the models logged in it (MLflow 2's convention, still read by MLflow 3)
MODEL_HISTORY_TAG = "mlflow.log-model.history"


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _tags(items: Any) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in items or ()}


def tag_list(tags: Mapping[str, Any] | None) -> list[dict[str, str]]:
    return [{"key": str(k), "value": str(v)} for k, v in (tags or {}).items()]


def experiment_from(data: Mapping[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(data["experiment_id"]),
        name=str(data.get("name", "")),
        artifact_location=str(data.get("artifact_location", "")),
        lifecycle_stage=str(data.get("lifecycle_stage", "active")),
        tags=_tags(data.get("tags")),
        creation_time=_int(data.get("creation_time")),
        last_update_time=_int(data.get("last_update_time")),
    )


def metric_from(data: Mapping[str, Any]) -> Metric:
    return Metric(
        key=str(data["key"]),
        # proto3 leaves a 0.0 out; a null is a NaN some JSON writer could not spell
        value=float(data.get("value", 0.0) if data.get("value", 0.0) is not None else "nan"),
        timestamp=_int(data.get("timestamp")) or 0,
        step=_int(data.get("step")) or 0,
    )


def logged_models_from(run_id: str, tags: Mapping[str, str]) -> list[LoggedModel]:
    """The models a run's ``mlflow.log-model.history`` tag lists, oldest first."""
    text = tags.get(MODEL_HISTORY_TAG)
    if not text:
        return []  # most runs: no JSON to parse
    try:
        entries = json.loads(text)
    except ValueError:
        return []
    found = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or "artifact_path" not in entry:
            continue
        flavors = entry.get("flavors") or {}
        found.append(
            LoggedModel(
                run_id=run_id,
                artifact_path=str(entry["artifact_path"]),
                model_uuid=str(entry.get("model_uuid", "")),
                flavors=tuple(sorted(flavors)),
                creation_time=_creation_ms(entry.get("utc_time_created")),
            )
        )
    return found


def _creation_ms(text: Any) -> int:
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def run_from(data: Mapping[str, Any]) -> Run:
    info = data.get("info", {})
    body = data.get("data", {})
    run_id = str(info.get("run_id") or info.get("run_uuid"))
    tags = _tags(body.get("tags"))
    latest = {m.key: m for m in map(metric_from, body.get("metrics") or ())}
    models = tuple(m.artifact_path for m in logged_models_from(run_id, tags))
    return Run(
        info=RunInfo(
            run_id=run_id,
            run_name=info.get("run_name") or tags.get("mlflow.runName"),
            experiment_id=str(info.get("experiment_id", "")),
            status=str(info.get("status", "RUNNING")),
            start_time=_int(info.get("start_time")) or 0,
            end_time=_int(info.get("end_time")),
            user_id=info.get("user_id"),
            artifact_uri=str(info.get("artifact_uri", "")),
            lifecycle_stage=str(info.get("lifecycle_stage", "active")),
        ),
        data=RunData(
            params={str(p["key"]): str(p.get("value", "")) for p in body.get("params") or ()},
            metrics={key: m.value for key, m in latest.items()},
            tags=tags,
            latest_metrics=latest,
        ),
        logged_models=tuple(dict.fromkeys(models)),
    )


def model_version_from(
    data: Mapping[str, Any], storage_location: str | None = None
) -> ModelVersion:
    source = str(data.get("source", ""))
    return ModelVersion(
        name=str(data["name"]),
        version=int(data["version"]),
        creation_timestamp=_int(data.get("creation_timestamp")) or 0,
        last_updated_timestamp=_int(data.get("last_updated_timestamp")) or 0,
        current_stage=str(data.get("current_stage", "None")),
        description=data.get("description") or None,
        source=source,
        run_id=data.get("run_id") or None,
        storage_location=storage_location or source,
        tags=_tags(data.get("tags")),
        aliases=[str(a) for a in data.get("aliases") or ()],
        status=str(data.get("status", "READY")),
        status_message=data.get("status_message") or None,
        run_link=data.get("run_link") or None,
        user_id=data.get("user_id") or None,
    )


def registered_model_from(data: Mapping[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=str(data["name"]),
        creation_timestamp=_int(data.get("creation_timestamp")) or 0,
        last_updated_timestamp=_int(data.get("last_updated_timestamp")) or 0,
        description=data.get("description") or None,
        tags=_tags(data.get("tags")),
        aliases={str(a["alias"]): int(a["version"]) for a in data.get("aliases") or ()},
        latest_versions=[model_version_from(v) for v in data.get("latest_versions") or ()],
    )
