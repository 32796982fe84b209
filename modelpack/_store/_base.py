"""The store interface: what the runs and registry APIs need from a backing database.

``SqliteStore`` implements it; a server database would implement the same methods, and the
public API (``modelpack.start_run``, ``modelpack.register_model``, ...) would not change.
Every method that looks something up raises :class:`~modelpack.exceptions.ModelNotFoundError`
naming what does exist when it is absent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelpack._store._entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    NewVersion,
    RegisteredModel,
    Run,
    RunQuery,
)

__all__ = ["NewRun", "RegistryStore", "RunStore", "Store"]


@dataclass(frozen=True)
class NewRun:
    experiment_id: str
    run_name: str | None
    user_id: str | None
    start_time: int
    tags: Mapping[str, str] = field(default_factory=dict)


class RunStore(ABC):
    """Experiments, runs, their params, metrics, tags and logged models."""

    uri: str
    #: the folder under which every run's artifacts live
    artifact_root: Path

    @abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment: ...

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment: ...

    @abstractmethod
    def list_experiments(self) -> list[Experiment]: ...

    @abstractmethod
    def create_run(self, new: NewRun) -> Run: ...

    @abstractmethod
    def set_run_status(self, run_id: str, status: str, end_time: int | None) -> None: ...

    @abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] = ...,
        metrics: Sequence[Metric] = ...,
        tags: Mapping[str, str] = ...,
    ) -> None: ...

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    @abstractmethod
    def search_runs(self, query: RunQuery) -> list[Run]: ...

    @abstractmethod
    def run_artifact_dir(self, run_id: str) -> Path: ...

    @abstractmethod
    def record_logged_model(self, model: LoggedModel) -> None: ...

    @abstractmethod
    def list_logged_models(self, run_id: str) -> list[LoggedModel]: ...


class RegistryStore(ABC):
    """Registered models, their versions, aliases, stages, descriptions and tags."""

    @abstractmethod
    def create_registered_model(
        self, name: str, *, description: str | None, tags: Mapping[str, str]
    ) -> RegisteredModel: ...

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def search_registered_models(self, name_like: str | None = None) -> list[RegisteredModel]: ...

    @abstractmethod
    def update_registered_model(self, name: str, *, description: str | None) -> None: ...

    @abstractmethod
    def delete_registered_model(self, name: str) -> None: ...

    @abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        """Set a tag, or delete it when ``value`` is None."""

    @abstractmethod
    def create_model_version(self, new: NewVersion) -> ModelVersion: ...

    @abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    @abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    @abstractmethod
    def get_latest_version(self, name: str, stage: str | None = None) -> ModelVersion:
        """The highest version, or the highest in ``stage`` when given."""

    @abstractmethod
    def search_model_versions(self, name: str | None = None) -> list[ModelVersion]: ...

    @abstractmethod
    def update_model_version(self, name: str, version: int, *, description: str | None) -> None: ...

    @abstractmethod
    def delete_model_version(self, name: str, version: int) -> None: ...

    @abstractmethod
    def set_model_version_tag(self, name: str, version: int, key: str, value: str | None) -> None:
        """Set a tag, or delete it when ``value`` is None."""

    @abstractmethod
    def set_alias(self, name: str, alias: str, version: int) -> None: ...

    @abstractmethod
    def delete_alias(self, name: str, alias: str) -> None: ...

    @abstractmethod
    def transition_stage(
        self, name: str, version: int, stage: str, *, archive_existing: bool
    ) -> ModelVersion: ...


class Store(RunStore, RegistryStore):
    """A complete store: runs and registry sharing one artifact root."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store reopens them on next use)."""
