"""The store interface: the contract every backend implements.

The runs and registry APIs (``modelpack.start_run``, ``modelpack.register_model``, URI
resolution in ``modelpack._uri``, the CLI) only ever call the methods below, so a backend
plugs in without any of them changing. Today's backend is ``SqliteStore`` (``_sqlite``: one
SQLite file and a folder on the local disk); a SQL server or a tracking server spoken to over
HTTP would be further implementations. What every implementation promises:

- Entities in and out are the frozen dataclasses of ``_entities`` (snapshots), never the
  backend's own rows, connections or cursors. Timestamps are milliseconds since the epoch.
- A lookup of something absent raises :class:`~modelpack.exceptions.ModelNotFoundError`
  naming what does exist; a refused write raises :class:`~modelpack.exceptions.StoreError`
  saying how to fix it.
- ``create_model_version`` numbers versions 1, 2, 3, ... with no gaps and no reuse, also when
  several processes register at once; every write is atomic.
- Model files live under ``artifact_root`` on the local disk: runs' artifacts in
  ``run_artifact_dir``, and versions' ``storage_location`` resolved against it.
- A store may be used from several threads and survives ``fork`` (no connection is shared
  with a child process); ``close`` releases what the calling thread holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

from modelpack._store._entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    NewRun,
    NewVersion,
    RegisteredModel,
    Run,
    RunQuery,
)

__all__ = ["RegistryStore", "RunStore", "Store", "relative_location"]


def relative_location(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX form) when inside it, else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


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
    """A complete store: runs and registry sharing one artifact root.

    A backend is found by its URI scheme (``_BACKENDS`` in ``modelpack._store``) and opened
    through the two class methods below, once per process for each store.
    """

    @classmethod
    @abstractmethod
    def identify(cls, uri: str) -> Hashable:
        """Check ``uri`` without opening anything, and say which store it names.

        URIs naming the same store (say a directory and the database file inside it) give
        equal results, so the process opens that store once. A malformed URI raises
        :class:`~modelpack.exceptions.StoreError` listing the accepted forms.
        """

    @classmethod
    @abstractmethod
    def open(cls, uri: str) -> Store:
        """Open (creating or migrating if needed) the store ``uri`` names."""

    def storage_location(self, model_dir: Path) -> str:
        """How a new version records the model directory ``model_dir`` (``NewVersion``).

        Relative to :attr:`artifact_root` (POSIX form) when inside it, so the store can move
        as a whole; absolute otherwise, in which case the caller copies the model in first.
        """
        return relative_location(model_dir, self.artifact_root)

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store reopens them on next use)."""
