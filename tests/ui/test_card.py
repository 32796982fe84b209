"""The model card reads a model's small text files without following what was planted there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelpack.ui._card import _read_small


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "requirements.txt").write_text("scikit-learn==1.5.0\n")
    return d


def test_a_regular_file_is_read_and_cut_at_the_limit(model_dir: Path) -> None:
    assert _read_small(model_dir / "requirements.txt", 1000, model_dir) == "scikit-learn==1.5.0\n"
    assert _read_small(model_dir / "requirements.txt", 5, model_dir) == "sciki\n..."


def test_a_link_to_a_file_outside_is_not_followed(model_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password\n")
    (model_dir / "python_env.yaml").symlink_to(secret)
    assert _read_small(model_dir / "python_env.yaml", 1000, model_dir) is None


def test_a_link_inside_the_model_is_not_followed_either(model_dir: Path) -> None:
    (model_dir / "example.json").symlink_to(model_dir / "requirements.txt")
    assert _read_small(model_dir / "example.json", 1000, model_dir) is None


def test_a_path_leading_out_of_the_model_is_not_read(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.json").write_text("{}")
    assert _read_small(model_dir / ".." / "outside.json", 1000, model_dir) is None


def test_a_fifo_is_refused_without_hanging(model_dir: Path) -> None:
    os.mkfifo(model_dir / "input_example.json")
    assert _read_small(model_dir / "input_example.json", 1000, model_dir) is None


def test_a_device_is_refused(model_dir: Path) -> None:
    (model_dir / "requirements.txt").unlink()
    (model_dir / "requirements.txt").symlink_to("/dev/zero")
    assert _read_small(model_dir / "requirements.txt", 1000, model_dir) is None
