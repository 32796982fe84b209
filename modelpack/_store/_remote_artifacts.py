"""Artifacts of a SQL store whose artifact root is remote (``s3://bucket/prefix``, or another
scheme ``modelpack._storage`` serves), for the PostgreSQL store.

The database records locations relative to the root, as for a local root; they resolve to
URIs under it (``s3://bucket/prefix/1/<run>/artifacts/model``), which ``modelpack._uri`` loads
through the verified download cache. ``artifact_root`` is a local staging folder with the
same layout: ``log_model`` saves a model there, and recording it uploads it (``MLmodel``
last, so it is visible only when complete) and empties the staging folder. A model directory
registered from outside the store is copied into staging first and uploaded the same way.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from modelpack._storage import ArtifactStorage, join, resolve_location, storage_for
from modelpack._store._base import Store
from modelpack._store._entities import LoggedModel, ModelVersion, NewVersion
from modelpack._store._sql_runs import SqlRuns
from modelpack._store._sql_versions import SqlVersions
from modelpack._store._storage_artifacts import StorageArtifacts
from modelpack.exceptions import StoreError

__all__ = ["RemoteArtifacts"]


class RemoteArtifacts(StorageArtifacts, SqlRuns, SqlVersions, Store):
    """Run artifacts and registered models under a remote root (see the module doc)."""

    #: the remote root URI (``artifact_root`` is the local staging folder)
    artifact_base: str

    def location_uri(self, location: str) -> str:
        return resolve_location(self.artifact_base, location)

    def run_storage(self, run_id: str) -> ArtifactStorage:
        """The storage rooted at the run's artifact folder."""
        return storage_for(self.location_uri(self.run_location(run_id)))

    def record_logged_model(self, model: LoggedModel) -> None:
        """Upload the staged model, then record it (a model under that name is refused
        before anything is uploaded over it). The artifact methods are StorageArtifacts'."""
        staged = self.run_artifact_dir(model.run_id).joinpath(*model.artifact_path.split("/"))
        try:
            taken = (
                self.db.connection()
                .execute(
                    "SELECT 1 FROM logged_models WHERE run_id = ? AND artifact_path = ?",
                    (model.run_id, model.artifact_path),
                )
                .fetchone()
            )
            if taken is not None:
                raise StoreError(
                    f"run {model.run_id} already has a model at {model.artifact_path!r}; "
                    "log it under another name"
                )
            self.publish_model(model)  # uploads (MLmodel last) and empties the staging folder
            super().record_logged_model(model)
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def create_model_version(self, new: NewVersion) -> ModelVersion:
        return super().create_model_version(
            dataclasses.replace(new, storage_location=self._remote_location(new))
        )

    def _remote_location(self, new: NewVersion) -> str:
        """Where the new version's files are, relative to the remote root or a URI."""
        from modelpack._uri import model_version_for, parse_uri

        source = str(new.source)
        if source.startswith("runs:"):
            parsed = parse_uri(source)
            assert parsed.run_id is not None
            return join(self.run_location(parsed.run_id), parsed.path or "")
        if source.startswith("models:"):
            return model_version_for(self, parse_uri(source)).storage_location
        staged = self.artifact_root / new.storage_location
        if not Path(new.storage_location).is_absolute() and staged.is_dir():
            try:  # copied into the store by the registry: upload it
                storage_for(self.artifact_base).put_dir(staged, new.storage_location)
            finally:
                shutil.rmtree(staged, ignore_errors=True)
        return new.storage_location
