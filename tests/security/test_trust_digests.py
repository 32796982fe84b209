"""A model in modelpack's format loads only what its digests cover; every directory's paths
stay inside it and only regular files are opened. Each case is a real saved model, tampered."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelpack
from modelpack._integrity import file_digest
from modelpack.exceptions import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args], capture_output=True, text=True, timeout=120
    )


def _edit(model_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load((model_dir / "MLmodel").read_text())
    change(data)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(data))


def _refused(model_dir: Path, name: str, match: str = "") -> None:
    with pytest.raises(IntegrityError, match=match) as info:
        modelpack.load_model(model_dir)
    assert info.value.path == name
    result = _cli("verify", str(model_dir))
    assert result.returncode == 1, result.stdout
    assert "OK" not in result.stdout
    assert name in result.stdout + result.stderr


@pytest.fixture
def pickled_dir(tmp_path: Path, taxi_dv_lr: Any) -> Path:
    _, lr = taxi_dv_lr
    path = tmp_path / "pickled"
    modelpack.save_model(lr, path, serialization_format="cloudpickle")
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "ran"


def _plant(model_dir: Path, name: str, marker: Path) -> None:
    (model_dir / name).write_bytes(pickle.dumps(_Evil(marker)))


def test_replaced_pickle_with_its_line_deleted(pickled_dir: Path, marker: Path) -> None:
    _plant(pickled_dir, "model.pkl", marker)
    _edit(pickled_dir, lambda d: d["modelpack"]["files"].pop("model.pkl"))
    _refused(pickled_dir, "model.pkl", "no digest")
    assert not marker.exists()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["modelpack"].__setitem__("files", {}),
        lambda d: d["modelpack"].pop("files"),
    ],
    ids=["empty-files", "no-files-key"],
)
def test_emptied_digest_list(pickled_dir: Path, marker: Path, change: Any) -> None:
    _plant(pickled_dir, "model.pkl", marker)
    _edit(pickled_dir, change)
    _refused(pickled_dir, "MLmodel", "no file digests")
    assert not marker.exists()


def test_deleted_modelpack_block(pickled_dir: Path, marker: Path) -> None:
    _plant(pickled_dir, "model.pkl", marker)
    _edit(pickled_dir, lambda d: d.pop("modelpack"))
    _refused(pickled_dir, "MLmodel", "modelpack's marks")
    assert not marker.exists()


def test_deleted_block_and_pyfunc_flavor_key(pickled_dir: Path, marker: Path) -> None:
    # loader_module still names modelpack: the manifest is recognised as modelpack's
    _plant(pickled_dir, "model.pkl", marker)
    _edit(
        pickled_dir, lambda d: (d.pop("modelpack"), d["flavors"]["python_function"].pop("flavor"))
    )
    _refused(pickled_dir, "MLmodel")
    assert not marker.exists()


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_path_outside_the_directory(pickled_dir: Path, marker: Path, where: str) -> None:
    evil = pickled_dir.parent / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Evil(marker)))
    target = str(evil) if where == "absolute" else "../evil.pkl"

    def change(d: dict[str, Any]) -> None:
        d["flavors"]["sklearn"]["pickled_model"] = target
        d["flavors"]["python_function"]["model_path"] = target

    _edit(pickled_dir, change)
    _refused(pickled_dir, target, "outside the model directory")
    assert not marker.exists()


def test_path_outside_in_the_digest_list(pickled_dir: Path) -> None:
    outside = pickled_dir.parent / "x.txt"
    outside.write_text("x")
    _edit(
        pickled_dir, lambda d: d["modelpack"]["files"].__setitem__("../x.txt", file_digest(outside))
    )
    _refused(pickled_dir, "../x.txt", "outside")


def test_listed_file_is_a_symlink(taxi_model_dir: Path, tmp_path: Path) -> None:
    # the link's target has the right digest: the link itself is refused
    copy = tmp_path / "copy.skops"
    shutil.copy(taxi_model_dir / "model.skops", copy)
    (taxi_model_dir / "model.skops").unlink()
    os.symlink(copy, taxi_model_dir / "model.skops")
    _refused(taxi_model_dir, "model.skops", "symbolic link")


def test_listed_file_links_to_dev_zero(taxi_model_dir: Path) -> None:
    (taxi_model_dir / "model.skops").unlink()
    os.symlink("/dev/zero", taxi_model_dir / "model.skops")
    _refused(taxi_model_dir, "model.skops", "symbolic link")


def test_listed_file_is_a_fifo(taxi_model_dir: Path) -> None:
    (taxi_model_dir / "model.skops").unlink()
    os.mkfifo(taxi_model_dir / "model.skops")
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            modelpack.load_model(taxi_model_dir)
        except BaseException as e:
            outcome.append(e)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():
        with open(taxi_model_dir / "model.skops", "wb"):
            pass
        pytest.fail("load_model blocked on a FIFO")
    assert isinstance(outcome[0], IntegrityError)
    assert outcome[0].path == "model.skops"
    result = _cli("verify", str(taxi_model_dir))
    assert result.returncode == 1 and "model.skops" in result.stdout


def test_unlisted_preprocessor_replaced(taxi_model_dir: Path) -> None:
    _edit(taxi_model_dir, lambda d: d["modelpack"]["files"].pop("preprocessor.skops"))
    _refused(taxi_model_dir, "preprocessor.skops", "no digest")


def test_unlisted_extra_file_is_still_tolerated(taxi_model_dir: Path, taxi: Any) -> None:
    (taxi_model_dir / "notes.txt").write_text("added by a user")
    frame, _, _ = taxi
    assert len(modelpack.load_model(taxi_model_dir).predict(frame.head(2))) == 2


# --------------------------------------------------------------------------- MLflow-written
def _as_mlflow(model_dir: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d.pop("modelpack")
        pyfunc = d["flavors"]["python_function"]
        pyfunc.pop("flavor")
        pyfunc["loader_module"] = "mlflow.sklearn"

    _edit(model_dir, change)


def test_mlflow_dir_still_loads(pickled_dir: Path) -> None:
    _as_mlflow(pickled_dir)
    assert modelpack.sklearn.load_model(pickled_dir).coef_ is not None
    assert modelpack.load_model(pickled_dir).metadata.format_version == 0


def test_mlflow_dir_with_internal_symlink_loads(pickled_dir: Path) -> None:
    _as_mlflow(pickled_dir)
    (pickled_dir / "store").mkdir()
    (pickled_dir / "model.pkl").rename(pickled_dir / "store" / "model.pkl")
    os.symlink("store/model.pkl", pickled_dir / "model.pkl")
    assert modelpack.load_model(pickled_dir) is not None


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
def test_mlflow_dir_paths_are_confined(pickled_dir: Path, marker: Path, where: str) -> None:
    _as_mlflow(pickled_dir)
    evil = pickled_dir.parent / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Evil(marker)))
    if where == "symlink":
        (pickled_dir / "model.pkl").unlink()
        os.symlink(evil, pickled_dir / "model.pkl")
        name = "model.pkl"
    else:
        name = str(evil) if where == "absolute" else "../evil.pkl"

        def change(d: dict[str, Any]) -> None:
            d["flavors"]["sklearn"]["pickled_model"] = name
            d["flavors"]["python_function"]["model_path"] = name

        _edit(pickled_dir, change)
    with pytest.raises(IntegrityError, match="outside the model directory") as info:
        modelpack.load_model(pickled_dir)
    assert info.value.path == name
    assert not marker.exists()
    result = _cli("verify", str(pickled_dir))
    assert result.returncode == 1 and name in result.stdout
