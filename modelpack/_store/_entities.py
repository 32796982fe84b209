"""What the store hands back: experiments, runs, registered models and model versions.

Plain frozen dataclasses with the same attribute names MLflow's entities use
(``run.info.run_id``, ``run.data.metrics``, ``version.current_stage``), so code written for the
course keeps reading naturally. They are snapshots: fetch again to see later changes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

__all__ = [
    "RUN_STATUSES",
    "STAGES",
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "LoggedModel",
    "Metric",
    "ModelVersion",
    "NewRun",
    "NewVersion",
    "PagedList",
    "Param",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
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


T = TypeVar("T")


class ViewType(IntEnum):
    """Which lifecycle stages a search returns (MLflow's values)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @classmethod
    def from_string(cls, text: str) -> ViewType:
        """``"active_only"``, ``"deleted_only"`` or ``"all"`` (any case)."""
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown view type {text!r}; use active_only, deleted_only or all"
            ) from None

    @classmethod
    def to_string(cls, view_type: int) -> str:
        return cls(view_type).name.lower()


class LifecycleStage:
    """An experiment's or a run's ``lifecycle_stage``: deleting only marks it."""

    ACTIVE = "active"
    DELETED = "deleted"

    @classmethod
    def view_type_to_stages(cls, view_type: int = ViewType.ALL) -> tuple[str, ...]:
        """The stages a search with ``view_type`` returns."""
        view = ViewType(view_type)
        if view == ViewType.ACTIVE_ONLY:
            return (cls.ACTIVE,)
        if view == ViewType.DELETED_ONLY:
            return (cls.DELETED,)
        return (cls.ACTIVE, cls.DELETED)

    @classmethod
    def is_valid(cls, stage: str) -> bool:
        return stage in (cls.ACTIVE, cls.DELETED)

    @classmethod
    def matches_view_type(cls, view_type: int, stage: str) -> bool:
        return stage in cls.view_type_to_stages(view_type)


class RunStatus(IntEnum):
    """A run's status (MLflow's numbering); ``Run.info.status`` holds its name."""

    RUNNING = 1
    SCHEDULED = 2
    FINISHED = 3
    FAILED = 4
    KILLED = 5

    @classmethod
    def from_string(cls, text: str) -> RunStatus:
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            names = ", ".join(s.name for s in cls)
            raise ValueError(f"unknown run status {text!r}; use one of {names}") from None

    @classmethod
    def to_string(cls, status: int) -> str:
        return cls(status).name

    @classmethod
    def is_terminated(cls, status: int) -> bool:
        return cls(status) in (cls.FINISHED, cls.FAILED, cls.KILLED)

    @classmethod
    def all_status(cls) -> list[int]:
        return [int(s) for s in cls]


class PagedList(list[T], Generic[T]):
    """One page of search results; ``token`` fetches the next page (None after the last)."""

    def __init__(self, items: Iterable[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True)
class Param:
    """A run parameter, as ``log_batch`` takes it."""

    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    """A run tag, as ``log_batch`` takes it."""

    key: str
    value: str


@dataclass(frozen=True)
class FileInfo:
    """One entry of a run's artifacts: ``path`` relative to the run's artifact root."""

    path: str
    is_dir: bool
    #: bytes; None for a directory
    file_size: int | None


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
    """``metrics`` holds each metric's latest value: highest step, then newest timestamp.

    ``latest_metrics`` holds the same values with their step and timestamp, where the store
    answers them (the SQL stores and a tracking server do); a key missing there has only its
    value.
    """

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    latest_metrics: dict[str, Metric] = field(default_factory=dict, compare=False, repr=False)


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
    """One version of a registered model, with MLflow's attributes (``version`` is an int, as
    MLflow's SQL store gives it; ``aliases`` a list of the aliases pointing here)."""

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
    aliases: list[str] = field(default_factory=list)
    status: str = "READY"
    status_message: str | None = None
    run_link: str | None = None
    user_id: str | None = None

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
    """A registered model, with MLflow's attributes (``aliases`` maps each alias to its
    version)."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    #: alias -> version
    aliases: dict[str, int] = field(default_factory=dict)
    #: the newest version in each stage that has one (MLflow's ``latest_versions``)
    latest_versions: list[ModelVersion] = field(default_factory=list)

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
    run_link: str | None = None
    #: create the registered model when it does not exist (``register_model``); when False a
    #: missing model is an error (``create_model_version``)
    create_model: bool = True
    #: sha256 hex of the model's MLmodel at registration (None when it cannot be read locally)
    manifest_digest: str | None = None
