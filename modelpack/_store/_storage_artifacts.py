"""Run artifacts kept in an :class:`~modelpack._storage.ArtifactStorage` (S3, a server's
proxy, any fsspec scheme), with a local staging folder for the models being logged.

The artifact half of a store whose run folders are not on the local disk: the REST store
(the run's ``artifact_uri`` names the server's proxy or a bucket) and a SQL store whose
artifact root is a URI. A host class says where a run's files are (:meth:`run_storage`) and
where to stage (``artifact_root``); everything else is here, once.

Models: ``log_model`` saves into :meth:`run_artifact_dir`, a local staging folder, and the
host's ``record_logged_model`` calls :meth:`publish_model`, which uploads it with ``MLmodel``
last (see ``ArtifactStorage.put_dir``) and empties the staging folder. A killed upload leaves
files without ``MLmodel``: no reader takes them for a model, and the host records nothing.
"""

from __future__ import annotations

import shutil
from abc import abstractmethod
from pathlib import Path, PurePosixPath

from modelpack._storage import ArtifactStorage, clean_path, join
from modelpack._store._base import RunStore
from modelpack._store._entities import FileInfo, LoggedModel
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError

__all__ = ["StorageArtifacts"]


class StorageArtifacts(RunStore):
    """Run artifacts through :meth:`run_storage`; models staged under ``artifact_root``."""

    @abstractmethod
    def run_storage(self, run_id: str) -> ArtifactStorage:
        """The storage whose root is the run's artifact folder."""

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        source = Path(local_path)
        if source.is_dir():
            raise StoreError(f"{source} is a directory; log a directory with log_artifacts")
        if not source.is_file():
            raise FileNotFoundError(f"cannot log {source} as an artifact: no such file")
        self.run_storage(run_id).put_file(source, join(clean_path(artifact_path), source.name))

    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None) -> None:
        source = Path(local_dir)
        if not source.is_dir():
            raise FileNotFoundError(f"cannot log {source} as artifacts: no such directory")
        self.run_storage(run_id).put_dir(source, clean_path(artifact_path))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        infos = self.run_storage(run_id).list(clean_path(path))
        return [FileInfo(i.path, i.is_dir, i.file_size) for i in infos]

    def download_artifacts(self, run_id: str, path: str, dst_path: Path) -> Path:
        rel = clean_path(path)
        storage = self.run_storage(run_id)
        dst = Path(dst_path)
        dst.mkdir(parents=True, exist_ok=True)
        if rel and not storage.list(rel):  # a file, or nothing
            target = dst / PurePosixPath(rel).name
            if not storage.exists(rel):
                raise ModelNotFoundError(
                    f"run {run_id} has no artifact at {path!r}", uri=f"runs:/{run_id}/{rel}"
                )
            storage.get_file(rel, target)
            return target.absolute()
        target = dst / PurePosixPath(rel).name if rel else dst
        try:
            return storage.get_dir(rel, target).absolute()
        except ModelNotFoundError:
            target.mkdir(parents=True, exist_ok=True)  # a run without artifacts
            return target.absolute()

    def run_artifact_dir(self, run_id: str) -> Path:
        """A local staging folder: ``log_model`` saves here, and :meth:`publish_model`
        empties it."""
        folder = self.artifact_root / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def publish_model(self, model: LoggedModel) -> None:
        """Upload the model staged for ``model`` into its run (``MLmodel`` last).

        Raises ModelExistsError when the run already holds a model at that path. The staged
        files are removed either way.
        """
        staged = self.run_artifact_dir(model.run_id).joinpath(*model.artifact_path.split("/"))
        try:
            storage = self.run_storage(model.run_id)
            if storage.exists(join(model.artifact_path, "MLmodel")):
                raise ModelExistsError(
                    f"run {model.run_id} already has a model named {model.artifact_path!r}; "
                    "log this one under another name, or in a new run"
                )
            storage.put_dir(staged, model.artifact_path)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
