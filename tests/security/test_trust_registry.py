"""The registry anchors trust outside the model directory: the MLmodel digest recorded at
registration is checked before anything of a models:/ model is read."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._store import get_store
from modelpack.exceptions import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _swap_files(version_dir: Path, tmp_path: Path, taxi_dv_lr: Any) -> None:
    """Replace every file of a registered version with another, self-consistent model."""
    from sklearn.linear_model import Ridge

    frame_free = tmp_path / "other"
    modelpack.save_model(Ridge(), frame_free, serialization_format="cloudpickle")
    shutil.rmtree(version_dir)
    shutil.copytree(frame_free, version_dir)


def _dir_of(name: str, version: int) -> Path:
    store = get_store()
    location = Path(store.get_model_version(name, version).storage_location)
    return location if location.is_absolute() else store.artifact_root / location


def test_registration_records_the_manifest_digest(taxi_model_dir: Path) -> None:
    modelpack.register_model(str(taxi_model_dir), "m")
    recorded = get_store().get_manifest_digest("m", 1)
    assert recorded is not None and len(recorded) == 64
    assert modelpack.load_model("models:/m/1").metadata.digest == recorded


@pytest.mark.parametrize("uri", ["models:/m/1", "models:/m@champion", "models:/m/latest"])
def test_swapped_model_is_refused(
    taxi_model_dir: Path, tmp_path: Path, taxi_dv_lr: Any, uri: str
) -> None:
    modelpack.register_model(str(taxi_model_dir), "m")
    modelpack.set_registered_model_alias("m", "champion", 1)
    _swap_files(_dir_of("m", 1), tmp_path, taxi_dv_lr)
    # the directory on its own is consistent: only the anchor can tell
    assert modelpack.load_model(_dir_of("m", 1)) is not None
    with pytest.raises(IntegrityError, match=r"version 1 of registered model 'm'"):
        modelpack.load_model(uri)
    with pytest.raises(IntegrityError, match="replaced"):
        modelpack.sklearn.load_model(uri)


def test_copied_version_keeps_the_anchor(
    taxi_model_dir: Path, tmp_path: Path, taxi_dv_lr: Any
) -> None:
    modelpack.register_model(str(taxi_model_dir), "m")
    copy = modelpack.MlflowClient().copy_model_version("models:/m/1", "m-copy")
    assert get_store().get_manifest_digest(
        "m-copy", copy.version
    ) == get_store().get_manifest_digest("m", 1)
    _swap_files(_dir_of("m", 1), tmp_path, taxi_dv_lr)
    with pytest.raises(IntegrityError, match="m-copy"):
        modelpack.load_model("models:/m-copy/1")


def test_versions_without_a_recorded_digest_still_load(taxi_model_dir: Path, taxi: Any) -> None:
    modelpack.register_model(str(taxi_model_dir), "m")
    store = get_store()
    with store.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute("DELETE FROM model_version_digests")
    assert store.get_manifest_digest("m", 1) is None
    frame, _, _ = taxi
    assert len(modelpack.load_model("models:/m/1").predict(frame.head(2))) == 2


def test_renamed_model_keeps_its_anchor(taxi_model_dir: Path) -> None:
    modelpack.register_model(str(taxi_model_dir), "m")
    digest = get_store().get_manifest_digest("m", 1)
    modelpack.MlflowClient().rename_registered_model("m", "renamed")
    assert get_store().get_manifest_digest("renamed", 1) == digest
    assert modelpack.load_model("models:/renamed/1") is not None
