"""What the store hands back: experiments, runs, registered models and model versions.

Plain frozen dataclasses with the same attribute names MLflow's entities use
(``run.info.run_id``, ``run.data.metrics``, ``version.current_stage``), so code written for the
course keeps reading naturally. They are snapshots: fetch again to see later changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

__all__ = [
    "RUN_STATUSES",
    "STAGES",
    "Experiment",
    "LoggedModel",
    "Metric",
    "ModelVersion",
    "NewRun",
    "NewVersion",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunQuery",
    "canonical_stage",
    "now_ms",
]

RUN_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")
STAGES = ("None", "Staging", "Production", "Archived")


def now_ms() -> int:
    """Now, in the unit of every timestamp the store records: milliseconds since the epoch."""
    return int(time.time() * 1000)


def canonical_stage(stage: str | None) -> str:
    """``"production"`` -> ``"Production"``; None -> ``"None"``; anything else is an error."""
    text = "None" if stage is None else str(stage).strip()
    for known in STAGES:
        if text.lower() == known.lower():
            return known
    raise ValueError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)} (any case)")


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int


@dataclass(frozen=True)
class Metric:
    """One logged metric value; a metric's history is a list of these."""

    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str | None
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    user_id: str | None
    artifact_uri: str
    lifecycle_stage: str = "active"


@dataclass(frozen=True)
class RunData:
    """``metrics`` holds each metric's latest value: highest step, then newest timestamp."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    #: artifact paths of the models logged in this run, in logging order
    logged_models: tuple[str, ...] = ()

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def to_row(self) -> dict[str, Any]:
        """One flat row (``metrics.rmse``, ``params.alpha``, ...) for tables and JSON."""
        info = self.info
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "user_id": info.user_id,
            "artifact_uri": info.artifact_uri,
        }
        for prefix, values in (
            ("metrics", self.data.metrics),
            ("params", self.data.params),
            ("tags", self.data.tags),
        ):
            for key in sorted(values):
                row[f"{prefix}.{key}"] = values[key]
        row["models"] = list(self.logged_models)
        return row


@dataclass(frozen=True)
class LoggedModel:
    """A model saved into a run's artifact area by ``log_model``."""

    run_id: str
    artifact_path: str
    model_uuid: str
    flavors: tuple[str, ...]
    creation_time: int


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str
    description: str | None
    source: str
    run_id: str | None
    #: the local model directory this version loads from
    storage_location: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    status: str = "READY"

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "stage": self.current_stage,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "source": self.source,
            "description": self.description,
            "tags": dict(self.tags),
            "created": self.creation_timestamp,
            "storage_location": self.storage_location,
        }


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    #: alias -> version
    aliases: dict[str, int] = field(default_factory=dict)
    #: the newest version in each stage that has one (MLflow's ``latest_versions``)
    latest_versions: tuple[ModelVersion, ...] = ()

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latest_version": max((v.version for v in self.latest_versions), default=None),
            "aliases": {a: v for a, v in sorted(self.aliases.items())},
            "stages": {v.current_stage: v.version for v in self.latest_versions},
            "description": self.description,
            "tags": dict(self.tags),
            "updated": self.last_updated_timestamp,
        }


class RunQuery(TypedDict, total=False):
    """A run search: which experiments, a filter string, ordering and a limit."""

    experiment_ids: list[str] | None
    filter: str | None
    order_by: list[str] | None
    max_results: int


@dataclass(frozen=True)
class NewRun:
    """What starting a run needs; the store assigns the id and the artifact folder."""

    experiment_id: str
    run_name: str | None
    user_id: str | None
    start_time: int
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewVersion:
    """What registering needs: where the model lives and where it came from."""

    name: str
    source: str
    #: relative to the store's artifact root when inside it, else absolute
    storage_location: str
    run_id: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
