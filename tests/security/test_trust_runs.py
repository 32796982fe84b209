"""A logged model is anchored outside its directory like a registered version: ``log_model``
records the sha256 of its MLmodel in a run tag, and loading by ``runs:/`` (or registering from
it) checks the directory against that record before anything is read."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._anchor import RUN_DIGEST_TAG, run_digest_tag
from modelpack._store import get_store
from modelpack.exceptions import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _log(taxi_dv_lr: Any, name: str = "model") -> tuple[str, Path]:
    dv, lr = taxi_dv_lr
    with modelpack.start_run() as run:
        info = modelpack.sklearn.log_model(lr, name=name, preprocessor=dv)
    root = Path(modelpack.get_run(run.info.run_id).info.artifact_uri)
    return info.model_uri, root.joinpath(*name.split("/"))


def _swap_files(model_dir: Path, tmp_path: Path) -> None:
    """Replace every file of a logged model with another, self-consistent model."""
    from sklearn.linear_model import Ridge

    other = tmp_path / "other"
    modelpack.save_model(Ridge(), other, serialization_format="cloudpickle")
    shutil.rmtree(model_dir)
    shutil.copytree(other, model_dir)


@pytest.mark.parametrize("name", ["model", "nested/model"])
def test_log_model_records_the_manifest_digest(taxi_dv_lr: Any, name: str) -> None:
    uri, _ = _log(taxi_dv_lr, name)
    run_id = uri.split("/")[1]
    tags = modelpack.get_run(run_id).data.tags
    recorded = tags[f"{RUN_DIGEST_TAG}/{name}"]
    assert len(recorded) == 64
    assert modelpack.load_model(uri).metadata.digest == recorded
    assert modelpack.load_model(uri + "/").metadata.digest == recorded  # same anchor


def test_swapped_logged_model_is_refused(taxi_dv_lr: Any, tmp_path: Path) -> None:
    uri, model_dir = _log(taxi_dv_lr)
    _swap_files(model_dir, tmp_path)
    assert modelpack.load_model(model_dir) is not None  # on its own, consistent
    with pytest.raises(IntegrityError, match=r"the model logged in run \w+ at 'model'"):
        modelpack.load_model(uri)
    with pytest.raises(IntegrityError, match="replaced in the artifact store"):
        modelpack.sklearn.load_model(uri)


def test_swapped_logged_model_cannot_be_registered(taxi_dv_lr: Any, tmp_path: Path) -> None:
    uri, model_dir = _log(taxi_dv_lr)
    _swap_files(model_dir, tmp_path)
    with pytest.raises(IntegrityError, match="logged in run"):
        modelpack.register_model(uri, "m")
    assert get_store().search_model_versions("name = 'm'") == []


def test_a_tampered_manifest_alone_is_refused(taxi_dv_lr: Any) -> None:
    uri, model_dir = _log(taxi_dv_lr)
    mlmodel = model_dir / "MLmodel"
    mlmodel.write_bytes(mlmodel.read_bytes() + b"# edited\n")
    with pytest.raises(IntegrityError, match="differs from the one recorded when it was logged"):
        modelpack.load_model(uri)


def test_models_logged_before_the_anchor_still_load(taxi_dv_lr: Any, taxi: Any) -> None:
    uri, _ = _log(taxi_dv_lr)
    run_id = uri.split("/")[1]
    get_store().delete_tag(run_id, run_digest_tag("model"))
    frame, _, _ = taxi
    assert len(modelpack.load_model(uri).predict(frame.head(2))) == 2
    assert modelpack.register_model(uri, "m").version == 1


def test_registering_from_a_run_keeps_both_anchors(taxi_dv_lr: Any, tmp_path: Path) -> None:
    uri, model_dir = _log(taxi_dv_lr)
    modelpack.register_model(uri, "m")
    run_id = uri.split("/")[1]
    tag = modelpack.get_run(run_id).data.tags[run_digest_tag("model")]
    assert get_store().get_manifest_digest("m", 1) == tag
    _swap_files(model_dir, tmp_path)
    with pytest.raises(IntegrityError, match="version 1 of registered model 'm'"):
        modelpack.load_model("models:/m/1")
