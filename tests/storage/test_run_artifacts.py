"""StorageArtifacts: a store's run artifacts in any ArtifactStorage (S3 here, and a folder),
as the REST store keeps them and a SQL store with an s3:// artifact root would."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._storage import ArtifactStorage, storage_for
from modelpack._store import LoggedModel
from modelpack._store._storage_artifacts import StorageArtifacts
from modelpack.exceptions import ModelExistsError, ModelNotFoundError


class _Runs(StorageArtifacts):
    """Only the artifact half: each run's folder is ``<root>/<run_id>/artifacts``."""

    def __init__(self, root: str, staging: Path) -> None:
        self.root, self.artifact_root = root.rstrip("/"), staging

    def run_storage(self, run_id: str) -> ArtifactStorage:
        return storage_for(f"{self.root}/{run_id}/artifacts")


_Runs.__abstractmethods__ = frozenset()  # the rest of RunStore is not needed here


@pytest.fixture(params=["s3", "local"])
def runs(request: pytest.FixtureRequest, tmp_path: Path) -> _Runs:
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_env")
        root = f"s3://{s3.create_bucket()}/team"
    else:
        root = str(tmp_path / "remote")
    return _Runs(root, tmp_path / "staging")


def test_artifacts_in_and_out(runs: _Runs, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(b"\x01" * 3000)
    runs.log_artifacts("r1", src, "data")
    runs.log_artifact("r1", src / "a.txt", None)
    assert [(f.path, f.is_dir) for f in runs.list_artifacts("r1")] == [
        ("a.txt", False),
        ("data", True),
    ]
    assert [(f.path, f.file_size) for f in runs.list_artifacts("r1", "data/sub")] == [
        ("data/sub/b.bin", 3000)
    ]
    got = runs.download_artifacts("r1", "data", tmp_path / "out")
    assert (got / "sub" / "b.bin").read_bytes() == b"\x01" * 3000
    assert runs.download_artifacts("r1", "a.txt", tmp_path / "one").read_text() == "alpha"
    everything = runs.download_artifacts("r1", "", tmp_path / "all")
    assert (everything / "data" / "a.txt").is_file() and (everything / "a.txt").is_file()
    assert not any(runs.download_artifacts("r2", "", tmp_path / "none").iterdir())
    with pytest.raises(ModelNotFoundError):
        runs.download_artifacts("r1", "missing.txt", tmp_path / "x")


def test_publish_model_uploads_the_staged_model_once(runs: _Runs, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    staged = runs.run_artifact_dir("r1") / "model"
    modelpack.save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), staged)
    logged = LoggedModel("r1", "model", "u1", ("sklearn",), int(time.time() * 1000))
    runs.publish_model(logged)
    assert not staged.exists()  # staging emptied
    names = [f.path for f in runs.list_artifacts("r1", "model")]
    assert "model/MLmodel" in names
    loaded: Any = modelpack.load_model(runs.run_storage("r1").uri_for("model"))
    assert float(loaded.predict([[2.0]])[0]) == pytest.approx(2.0)
    modelpack.save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), staged)
    with pytest.raises(ModelExistsError):
        runs.publish_model(logged)
    assert not staged.exists()
