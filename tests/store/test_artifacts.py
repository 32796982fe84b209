"""Run artifacts: files and folders in, one level listed, copies out, objects as files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import modelpack
from modelpack import artifacts
from modelpack._client._tracking import TrackingClient
from modelpack._run_artifacts import (
    get_artifact_uri,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_text,
)
from modelpack._store import FileInfo
from modelpack.exceptions import MissingDependencyError, ModelNotFoundError, StoreError

pytestmark = [
    pytest.mark.filterwarnings("error"),
    # A file handle left open by an earlier test can be collected during one of these and
    # reported here; it is not these tests' doing (see the closing note of this round).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """preprocessor.b, and a folder d/ with a.txt and sub/b.txt."""
    (tmp_path / "preprocessor.b").write_bytes(b"\x00\x01pickle")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("aa")
    (tmp_path / "d" / "sub" / "b.txt").write_text("bbb")
    return tmp_path


def _paths(run_id: str, path: str | None = None) -> list[tuple[str, bool, int | None]]:
    return [(f.path, f.is_dir, f.file_size) for f in TrackingClient().list_artifacts(run_id, path)]


def test_files_and_folders_in_and_listed(files: Path) -> None:
    with modelpack.start_run() as run:
        log_artifact(str(files / "preprocessor.b"), artifact_path="preprocessor")
        log_artifact(str(files / "d" / "a.txt"))
        log_artifacts(str(files / "d"), artifact_path="folder")
        log_artifacts(str(files / "d"))  # its contents into the root
    run_id = run.run_id
    assert _paths(run_id) == [
        ("a.txt", False, 2),
        ("folder", True, None),
        ("preprocessor", True, None),
        ("sub", True, None),
    ]
    assert _paths(run_id, "folder") == [
        ("folder/a.txt", False, 2),
        ("folder/sub", True, None),
    ]
    assert _paths(run_id, "folder/sub/") == [("folder/sub/b.txt", False, 3)]
    assert _paths(run_id, "a.txt") == [] and _paths(run_id, "missing") == []
    assert all(isinstance(f, FileInfo) for f in TrackingClient().list_artifacts(run_id))
    root = Path(modelpack.get_run(run_id).info.artifact_uri)
    assert (root / "preprocessor" / "preprocessor.b").read_bytes() == b"\x00\x01pickle"


def test_downloads(files: Path, tmp_path: Path) -> None:
    with modelpack.start_run() as run:
        log_artifacts(str(files / "d"), artifact_path="dd")
        log_artifact(str(files / "preprocessor.b"), artifact_path="preprocessor")
    client = TrackingClient()
    out = tmp_path / "out"
    folder = client.download_artifacts(run.run_id, "dd/sub", str(out / "1"))
    assert folder == str(out / "1" / "sub") and (out / "1" / "sub" / "b.txt").read_text() == "bbb"
    one = client.download_artifacts(run.run_id, "preprocessor/preprocessor.b", str(out / "2"))
    assert one == str(out / "2" / "preprocessor.b")
    everything = client.download_artifacts(run.run_id, "", str(out / "3"))
    assert everything == str(out / "3") and sorted(os.listdir(everything)) == ["dd", "preprocessor"]
    temporary = Path(client.download_artifacts(run.run_id, "dd"))
    assert (temporary / "a.txt").read_text() == "aa" and temporary.name == "dd"
    with pytest.raises(
        ModelNotFoundError, match="has no artifact at 'nope'; its artifacts: dd, pre"
    ):
        client.download_artifacts(run.run_id, "nope", str(out / "4"))


@pytest.mark.parametrize(
    "bad", ["../escape.txt", "/etc/passwd", "a/../../b.txt", "..", "C:\\temp\\x.txt", "a\\..\\.."]
)
def test_artifact_paths_never_leave_the_run(bad: str, files: Path) -> None:
    client = TrackingClient()
    with modelpack.start_run() as run:
        for call in (
            lambda: log_artifact(str(files / "preprocessor.b"), artifact_path=bad),
            lambda: log_artifacts(str(files / "d"), artifact_path=bad),
            lambda: log_text("x", bad),
            lambda: client.list_artifacts(run.run_id, bad),
            lambda: client.download_artifacts(run.run_id, bad, str(files / "out")),
            lambda: get_artifact_uri(bad),
        ):
            with pytest.raises(StoreError, match="relative to the run's artifact root"):
                call()
    assert not (files / "escape.txt").exists() and not (files / "out").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlink_out_of_the_run_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with modelpack.start_run() as run:
        log_text("x", "inside.txt")
    root = Path(modelpack.get_run(run.run_id).info.artifact_uri)
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StoreError, match="leads outside the run's artifact root"):
        TrackingClient().log_text(run.run_id, "escaped", "link/x.txt")
    assert not (outside / "x.txt").exists()


def test_missing_local_files(tmp_path: Path) -> None:
    with modelpack.start_run():
        with pytest.raises(FileNotFoundError, match="no such file"):
            log_artifact(str(tmp_path / "missing.b"))
        with pytest.raises(FileNotFoundError, match="no such directory"):
            log_artifacts(str(tmp_path / "missing"))
        with pytest.raises(StoreError, match="is a directory; log a directory with log_artifacts"):
            log_artifact(str(tmp_path))


def test_text_and_dicts_round_trip() -> None:
    with modelpack.start_run() as run:
        log_text("model: ridge\n", "notes/summary.txt")
        log_dict({"zones": ["1_2", "7_9"], "n": 2}, "notes/zones.json")
        log_dict({"a": 1, "b": [1, 2]}, "config.yaml")
        log_dict({"a": 1}, "config.txt")
    uri = f"runs:/{run.run_id}"
    assert artifacts.load_text(f"{uri}/notes/summary.txt") == "model: ridge\n"
    assert artifacts.load_dict(f"{uri}/notes/zones.json") == {"zones": ["1_2", "7_9"], "n": 2}
    assert artifacts.load_text(f"{uri}/notes/zones.json").startswith('{\n  "zones"')
    assert artifacts.load_text(f"{uri}/config.yaml") == "a: 1\nb:\n- 1\n- 2\n"
    assert artifacts.load_dict(f"{uri}/config.yaml") == {"a": 1, "b": [1, 2]}
    assert json.loads(artifacts.load_text(f"{uri}/config.txt")) == {"a": 1}
    with pytest.raises(ModelNotFoundError, match="has no artifact at 'notes/missing.txt'"):
        artifacts.load_text(f"{uri}/notes/missing.txt")
    with pytest.raises(StoreError, match="is a folder"):
        artifacts.load_text(f"{uri}/notes")
    with pytest.raises(StoreError, match="does not hold JSON"):
        artifacts.load_dict(f"{uri}/notes/summary.txt")
    with pytest.raises(StoreError, match="name a file inside the run"):
        TrackingClient().log_text(run.run_id, "x", "")


def test_the_artifacts_module(tmp_path: Path) -> None:
    with modelpack.start_run() as run:
        log_text("hi", "notes/a.txt")
    got = artifacts.download_artifacts(
        run_id=run.run_id, artifact_path="notes", dst_path=str(tmp_path)
    )
    assert got == str(tmp_path / "notes") and (tmp_path / "notes" / "a.txt").read_text() == "hi"
    by_uri = artifacts.download_artifacts(f"runs:/{run.run_id}/notes/a.txt")
    assert Path(by_uri).read_text() == "hi"
    local = artifacts.download_artifacts(str(tmp_path / "notes"), dst_path=str(tmp_path / "copy"))
    assert (Path(local) / "a.txt").read_text() == "hi"
    listed = artifacts.list_artifacts(f"runs:/{run.run_id}/notes")
    assert [(f.path, f.is_dir) for f in listed] == [("notes/a.txt", False)]
    assert [f.path for f in artifacts.list_artifacts(run_id=run.run_id)] == ["notes"]
    with pytest.raises(StoreError, match="by artifact_uri, or by run_id"):
        artifacts.download_artifacts()
    with pytest.raises(StoreError, match="by artifact_uri, or by run_id"):
        artifacts.download_artifacts(f"runs:/{run.run_id}/notes", run_id=run.run_id)
    with pytest.raises(StoreError, match="unsupported artifact URI"):
        artifacts.load_text("s3://bucket/key.txt")


def test_logging_to_another_run_than_the_active_one() -> None:
    with modelpack.start_run() as first:
        pass
    with modelpack.start_run() as second:
        log_text("for the first", "note.txt", run_id=first.run_id)
    assert [f.path for f in TrackingClient().list_artifacts(first.run_id)] == ["note.txt"]
    assert TrackingClient().list_artifacts(second.run_id) == []


def test_get_artifact_uri() -> None:
    with modelpack.start_run() as run:
        root = get_artifact_uri()
        assert root == run.info.artifact_uri
        assert get_artifact_uri("plots/loss.png") == f"{root}/plots/loss.png"


@pytest.mark.parametrize(
    ("image", "mode"),
    [
        (np.arange(12, dtype=np.uint8).reshape(3, 4), "L"),
        (np.full((3, 4, 1), 200, dtype=np.int64), "L"),
        (np.zeros((3, 4, 3), dtype=np.uint8) + np.array([255, 0, 10], dtype=np.uint8), "RGB"),
        (np.ones((3, 4, 4), dtype=np.float32) * 0.5, "RGBA"),
        (np.eye(3, 4, dtype=bool), "L"),
    ],
    ids=["gray-2d", "gray-int64", "rgb", "rgba-float", "bool"],
)
def test_images_from_arrays_are_pngs(image: np.ndarray, mode: str) -> None:
    pil = pytest.importorskip("PIL.Image")
    with modelpack.start_run() as run:
        log_image(image, "images/x.png")
    loaded = artifacts.load_image(f"runs:/{run.run_id}/images/x.png")
    assert loaded.mode == mode and loaded.size == (4, 3)
    expected = image.astype(np.float64)
    expected = np.round(expected * 255) if image.dtype.kind == "f" else expected
    expected = expected * 255 if image.dtype == bool else expected
    assert np.array_equal(np.asarray(loaded).reshape(image.shape), expected.astype(np.uint8))
    assert isinstance(loaded, pil.Image)


def test_png_needs_no_pil_but_other_formats_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with modelpack.start_run() as run:
        log_image(np.zeros((2, 2, 3), dtype=np.uint8), "ok.png")
        with pytest.raises(MissingDependencyError, match="pip install pillow"):
            log_image(np.zeros((2, 2, 3), dtype=np.uint8), "photo.jpg")
    root = Path(modelpack.get_run(run.run_id).info.artifact_uri)
    assert (root / "ok.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((2, 2, 2)), "1\\|3\\|4 channels"),
        (np.zeros(4), "1\\|3\\|4 channels"),
        (np.full((2, 2), 1.5), "in \\[0, 1\\]"),
        (np.full((2, 2), 300), "in \\[0, 255\\]"),
    ],
    ids=["two-channels", "1d", "float-range", "int-range"],
)
def test_bad_image_arrays(image: np.ndarray, message: str) -> None:
    with modelpack.start_run(), pytest.raises(ValueError, match=message):
        log_image(image, "bad.png")


def test_pil_images_and_figures() -> None:
    pil = pytest.importorskip("PIL.Image")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    with modelpack.start_run() as run:
        log_image(pil.new("RGB", (5, 4), (1, 2, 3)), "images/pil.png")
        log_figure(figure, "plots/curve.png", save_kwargs={"dpi": 50})
        log_figure(figure, "plots/curve.svg")
        with pytest.raises(TypeError, match="matplotlib or plotly figure"):
            log_figure(object(), "plots/nothing.png")
        with pytest.raises(TypeError, match="numpy array or a PIL image"):
            log_image([[0, 1]], "images/list.png")
        with pytest.raises(StoreError, match="needs artifact_file"):
            log_image(np.zeros((2, 2)), key="progress", step=1)
    plt.close(figure)
    assert [f.path for f in TrackingClient().list_artifacts(run.run_id, "plots")] == [
        "plots/curve.png",
        "plots/curve.svg",
    ]
    assert artifacts.load_image(f"runs:/{run.run_id}/images/pil.png").getpixel((0, 0)) == (1, 2, 3)
