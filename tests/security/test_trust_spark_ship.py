"""Staging a model for Spark never follows links (issue 13): ``spark_udf`` hands the staged copy
to ``SparkContext.addFile``, which would ship whatever a link points at to every executor. A
link (wherever it points), a FIFO or a device in the model directory is an IntegrityError
naming it before anything is staged or added; regular files are still hard-linked, not copied.

No Spark session is needed: a stand-in context records what would be shipped."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.batch import _spark
from modelpack.exceptions import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SECRET = b"SPARK-SECRET-77aa"


class _Context:
    """What _ship uses of a SparkContext."""

    def __init__(self) -> None:
        self.applicationId = f"app-{id(self)}"
        self.added: list[Path] = []

    def addFile(self, path: str, recursive: bool = False) -> None:
        assert recursive
        self.added.append(Path(path))


class _Session:
    def __init__(self) -> None:
        self.sparkContext = _Context()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "token"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def _file_out(model: Path, secret: Path) -> str:
    (model / "extra.bin").symlink_to(secret)
    return "extra.bin"


def _folder_out(model: Path, secret: Path) -> str:
    (model / "data").symlink_to(secret.parent, target_is_directory=True)
    return "data"


def _inside(model: Path, secret: Path) -> str:
    (model / "again").symlink_to("MLmodel")
    return "again"


def _fifo(model: Path, secret: Path) -> str:
    os.mkfifo(model / "pipe")
    return "pipe"


CASES: dict[str, Callable[[Path, Path], str]] = {
    "link-to-a-file-outside": _file_out,
    "link-to-a-folder-outside": _folder_out,
    "link-inside": _inside,
    "fifo": _fifo,
}


@pytest.mark.timeout(120)  # a FIFO opened for reading would block
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_ship_refuses_and_stages_nothing(
    taxi_model_dir: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    name = make(taxi_model_dir, secret)
    sc = _Context()
    with pytest.raises(IntegrityError, match=f"refusing to ship to Spark .*: {name} is") as e:
        _spark._ship(sc, taxi_model_dir, "modelpack-model-test")
    assert e.value.path == str(taxi_model_dir / name)
    assert sc.added == []
    assert (sc.applicationId, "modelpack-model-test") not in _spark._SHIPPED


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_spark_udf_refuses_before_adding_a_file(
    taxi_model_dir: Path, secret: Path, make: Callable[[Path, Path], str]
) -> None:
    pytest.importorskip(
        "pyspark", reason='PySpark is not installed (pip install "modelpack[spark]")'
    )
    from modelpack.batch import spark_udf

    name = make(taxi_model_dir, secret)
    session = _Session()
    with pytest.raises(IntegrityError, match=name):
        spark_udf(session, str(taxi_model_dir))
    assert session.sparkContext.added == []


def test_a_clean_model_is_staged_with_hard_links(taxi_model_dir: Path) -> None:
    sc = _Context()
    _spark._ship(sc, taxi_model_dir, "modelpack-model-clean")
    (staged,) = sc.added
    assert staged.name == "modelpack-model-clean"
    files = sorted(p.relative_to(staged) for p in staged.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(taxi_model_dir) for p in taxi_model_dir.rglob("*") if p.is_file()
    )
    for rel in files:
        assert not (staged / rel).is_symlink()
        assert os.path.samefile(staged / rel, taxi_model_dir / rel)  # linked, not copied
    _spark._ship(sc, taxi_model_dir, "modelpack-model-clean")
    assert len(sc.added) == 1  # once per application
