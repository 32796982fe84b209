"""Where the UI reads a run's artifacts from, decided by ArtifactReader for each kind of
recorded artifact URI, with and without a team server's artifacts destination."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

# registers the mlflow-artifacts scheme with the storage factory, as any process that has
# talked to a server has it: the reader must decide the same with or without it
import modelpack._store._rest_artifacts  # noqa: F401
from modelpack._storage import storage_for
from modelpack.ui._artifacts import ArtifactReader, fetch_artifact, list_artifacts

RUN = "0123456789abcdef0123456789abcdef"


class _Store:
    """Just what the reader asks a store: a run's experiment and recorded artifact URI."""

    uri = "stub"

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    def get_run(self, run_id: str) -> Any:
        info = SimpleNamespace(experiment_id="3", run_id=run_id, artifact_uri=self.artifact_uri)
        return SimpleNamespace(info=info)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[Any]:
        return []  # "the store's own folder", empty here


def _files(root: Path, folder: str) -> None:
    (root / folder / "notes").mkdir(parents=True)
    (root / folder / "notes" / "a.txt").write_text("from the storage\n")


def _paths(store: Any, reader: ArtifactReader, path: str | None = None) -> list[str]:
    return [f["path"] for f in list_artifacts(store, RUN, path, reader=reader)["files"]]


def test_an_mlflow_artifacts_uri_resolves_against_the_destination(tmp_path: Path) -> None:
    _files(tmp_path, "team/3/run/artifacts")
    store: Any = _Store("mlflow-artifacts:/team/3/run/artifacts")
    reader = ArtifactReader(str(tmp_path))
    assert _paths(store, reader) == ["notes"]
    assert _paths(store, reader, "notes") == ["notes/a.txt"]
    found = fetch_artifact(store, RUN, "notes/a.txt", preview=True, reader=reader)
    try:
        assert found.path.read_text() == "from the storage\n"
    finally:
        found.cleanup()
    assert reader.location(store, RUN) == f"{tmp_path}/team/3/run/artifacts"
    # a host in the URI names a server; the path is still under its destination
    host: Any = _Store("mlflow-artifacts://tracking:5000/team/3/run/artifacts")
    assert _paths(host, reader) == ["notes"]


def test_without_a_destination_the_store_reads_its_own(tmp_path: Path) -> None:
    store: Any = _Store("mlflow-artifacts:/team/3/run/artifacts")
    assert ArtifactReader().source(store, RUN) is None
    local: Any = _Store(str(tmp_path / "store" / "artifacts" / RUN))
    assert ArtifactReader(str(tmp_path / "dest")).source(local, RUN) is None  # nothing there


def test_a_run_logged_through_the_server_is_read_from_its_destination_folder(
    tmp_path: Path,
) -> None:
    _files(tmp_path / "dest", f"3/{RUN}/artifacts")
    store: Any = _Store(str(tmp_path / "store" / "artifacts" / RUN))  # where nothing is
    assert _paths(store, ArtifactReader(str(tmp_path / "dest"))) == ["notes"]


@pytest.mark.parametrize("path", ["notes/../../x", "../secret", "/etc/passwd"])
def test_paths_stay_inside_the_run_in_a_storage(tmp_path: Path, path: str) -> None:
    _files(tmp_path, f"3/{RUN}/artifacts")
    (tmp_path / "3" / RUN / "secret").write_text("outside the artifacts")
    store: Any = _Store("")
    reader = ArtifactReader(str(tmp_path))
    with pytest.raises(Exception, match="relative|outside|'..'") as caught:
        fetch_artifact(store, RUN, path, preview=False, reader=reader)
    assert "outside the artifacts" not in str(caught.value)


def test_a_remote_artifact_uri_is_read_from_its_bucket(s3_env: Any) -> None:
    bucket = s3_env.create_bucket()
    uri = f"s3://{bucket}/exp/{RUN}/artifacts"
    storage_for(uri).put_stream(io.BytesIO(b"in the bucket\n"), "notes/a.txt")
    store: Any = _Store(uri)
    reader = ArtifactReader()
    assert _paths(store, reader) == ["notes"]
    found = fetch_artifact(store, RUN, "notes/a.txt", preview=False, reader=reader)
    try:
        assert found.path.read_bytes() == b"in the bucket\n"
        assert found.media_type == "application/octet-stream"
    finally:
        found.cleanup()
    assert reader.location(store, RUN) == uri
