"""The store interface: the contract every backend implements.

The runs and registry APIs (``modelpack.start_run``, ``modelpack.register_model``, URI
resolution in ``modelpack._uri``, the CLI) only ever call the methods below, so a backend
plugs in without any of them changing. The backends: one SQL implementation (``_sql_*``) on
SQLite (``_sqlite``) and PostgreSQL (``_postgres``), and a tracking server spoken to over HTTP
(``_rest``). What every implementation promises:

- Entities in and out are the frozen dataclasses of ``_entities`` (snapshots), never the
  backend's own rows, connections or cursors. Timestamps are milliseconds since the epoch.
- A lookup of something absent raises :class:`~modelpack.exceptions.ModelNotFoundError`
  naming what does exist; a refused write raises :class:`~modelpack.exceptions.StoreError`
  saying how to fix it.
- ``create_model_version`` numbers versions 1, 2, 3, ... with no gaps and no reuse, also when
  several processes register at once; every write is atomic.
- ``artifact_root`` is a local folder: the artifacts themselves for a local store, a staging
  folder (``run_artifact_dir``, where ``log_model`` saves before the upload) for a store whose
  artifacts live in object storage or behind a server.
- A store may be used from several threads and survives ``fork`` (no connection is shared
  with a child process); ``close`` releases what the calling thread holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

from modelpack._store._entities import (
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    ModelVersion,
    NewRun,
    NewVersion,
    PagedList,
    RegisteredModel,
    Run,
    ViewType,
)

__all__ = ["RegistryStore", "RunStore", "Store", "relative_location"]


def relative_location(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX form) when inside it, else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


class RunStore(ABC):
    """Experiments, runs, their params, metrics, tags, artifacts and logged models.

    Experiment and run lookups raise :class:`~modelpack.exceptions.ModelNotFoundError` for an
    unknown id or name; writes to a deleted run or into a deleted experiment raise
    :class:`~modelpack.exceptions.StoreError`. Deleting only marks the ``lifecycle_stage``
    (``restore_*`` undoes it); deleting an experiment marks its runs deleted too.
    """

    uri: str
    #: the folder under which every run's artifacts live
    artifact_root: Path

    # experiments
    @abstractmethod
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Create an experiment and return its id; a name in use (even deleted) is an error."""

    @abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment: ...

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment: ...

    @abstractmethod
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]: ...

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, deleted ones included, by id."""
        found = self.search_experiments(ViewType.ALL, order_by=["experiment_id ASC"])
        return list(found)

    @abstractmethod
    def delete_experiment(self, experiment_id: str) -> None: ...

    @abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    @abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abstractmethod
    def set_experiment_tag(self, experiment_id: str, key: str, value: str | None) -> None:
        """Set a tag, or delete it when ``value`` is None."""

    # runs
    @abstractmethod
    def create_run(self, new: NewRun) -> Run: ...

    @abstractmethod
    def update_run_info(
        self, run_id: str, *, status: str, end_time: int | None, run_name: str | None = None
    ) -> None:
        """Set the status and end time (and the name, with its ``mlflow.runName`` tag)."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] = ...,
        metrics: Sequence[Metric] = ...,
        tags: Mapping[str, str] = ...,
    ) -> None:
        """Write params (which never change once logged), metric values and tags at once."""

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching the filter (syntax in ``_filter``), ``max_results`` per page.

        ``experiment_ids`` None searches every experiment. ``page_token`` is the ``token`` of
        the previous page, opaque to callers.
        """

    def run_keys(self, experiment_ids: Sequence[str] | None) -> dict[str, list[str]]:
        """``{"params": [...], "metrics": [...], "tags": [...]}``: the sorted keys any run of
        the experiments has (None: every experiment). This default reads the newest runs'
        keys (``_run_keys.SAMPLE_RUNS``); a SQL store reads every run's."""
        from modelpack._store._run_keys import sampled_keys

        return sampled_keys(self, experiment_ids)

    # artifacts: paths are relative to the run's artifact root, in POSIX form
    @abstractmethod
    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        """Copy one local file into the run, under ``artifact_path`` (the root when None)."""

    @abstractmethod
    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None) -> None:
        """Copy a local directory's contents into the run, under ``artifact_path``."""

    @abstractmethod
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """One level of the run's artifacts below ``path``: empty for a file or a missing path."""

    @abstractmethod
    def download_artifacts(self, run_id: str, path: str, dst_path: Path) -> Path:
        """Copy the file or directory ``path`` ("" for all) into ``dst_path``; the local copy."""

    @abstractmethod
    def run_artifact_dir(self, run_id: str) -> Path:
        """The run's artifact folder on the local disk (where ``log_model`` saves)."""

    # logged models
    @abstractmethod
    def record_logged_model(self, model: LoggedModel) -> None: ...

    @abstractmethod
    def list_logged_models(self, run_id: str) -> list[LoggedModel]: ...


class RegistryStore(ABC):
    """Registered models, their versions, aliases, stages, descriptions and tags.

    Searches take MLflow's registry filter and order-by language (``_registry_search``) and
    return one page as a ``PagedList`` whose ``token`` asks for the next. A name already taken
    raises :class:`~modelpack.exceptions.ModelExistsError`; an unusable argument (filter,
    ``max_results``, page token) a ``ValueError`` kind of error saying what is accepted.
    """

    @abstractmethod
    def create_registered_model(
        self, name: str, *, description: str | None, tags: Mapping[str, str]
    ) -> RegisteredModel: ...

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]: ...

    @abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, aliases and tags follow it."""

    @abstractmethod
    def update_registered_model(self, name: str, *, description: str | None) -> None: ...

    @abstractmethod
    def delete_registered_model(self, name: str) -> None: ...

    @abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        """Set a tag, or delete it when ``value`` is None."""

    @abstractmethod
    def create_model_version(self, new: NewVersion) -> ModelVersion:
        """Register the next version of ``new.name`` (creating the model if ``create_model``)."""

    @abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    def get_manifest_digest(self, name: str, version: int) -> str | None:
        """The sha256 hex of the version's MLmodel recorded at registration, if any.

        ``load_model("models:/...")`` refuses a directory whose MLmodel differs. Stores that
        cannot record it (an MLflow server) return None, and so do versions registered before
        it was recorded; those load without the check.
        """
        return None

    @abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    @abstractmethod
    def get_latest_version(self, name: str, stage: str | None = None) -> ModelVersion:
        """The highest version, or the highest in ``stage`` when given."""

    @abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]: ...

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
