from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import modelpack
from modelpack.exceptions import IntegrityError


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args], capture_output=True, text=True, timeout=120
    )


def test_every_file_has_a_digest(taxi_model_dir: Path) -> None:
    manifest = modelpack.load_model(taxi_model_dir).metadata
    on_disk = {
        p.relative_to(taxi_model_dir).as_posix() for p in taxi_model_dir.rglob("*") if p.is_file()
    }
    assert set(manifest.files) == on_disk - {"MLmodel"}
    assert all(d.startswith("sha256:") and len(d) == 71 for d in manifest.files.values())


def test_tampered_file_is_named(taxi_model_dir: Path) -> None:
    with open(taxi_model_dir / "model.skops", "ab") as f:
        f.write(b"\0")
    with pytest.raises(IntegrityError, match=r"model\.skops: does not match") as info:
        modelpack.load_model(taxi_model_dir)
    assert info.value.path == "model.skops"


def test_missing_file_is_named(taxi_model_dir: Path) -> None:
    (taxi_model_dir / "preprocessor.skops").unlink()
    with pytest.raises(
        IntegrityError, match=r"preprocessor\.skops: is listed in MLmodel but missing"
    ):
        modelpack.load_model(taxi_model_dir)


def test_verify_cli_ok(taxi_model_dir: Path) -> None:
    result = _cli("verify", str(taxi_model_dir))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "files match" in result.stdout


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        pytest.param(
            lambda d: (d / "requirements.txt").write_text("evil==1\n"),
            "requirements.txt: does not match",
            id="modified",
        ),
        pytest.param(
            lambda d: (d / "conda.yaml").unlink(),
            "conda.yaml: is listed in MLmodel but missing",
            id="missing",
        ),
        pytest.param(
            lambda d: (d / "extra.bin").write_bytes(b"x"),
            "extra.bin: is present but not listed",
            id="unlisted",
        ),
    ],
)
def test_verify_cli_reports_problems(taxi_model_dir: Path, damage: object, expected: str) -> None:
    damage(taxi_model_dir)  # type: ignore[operator]
    result = _cli("verify", str(taxi_model_dir))
    assert result.returncode == 1
    assert expected in result.stdout


def test_unlisted_file_does_not_block_load(taxi_model_dir: Path, taxi: object) -> None:
    (taxi_model_dir / "notes.txt").write_text("added by a person")
    assert modelpack.load_model(taxi_model_dir).predict(
        [{"PU_DO": "1_2", "trip_distance": 1.0}]
    ).shape == (1,)
