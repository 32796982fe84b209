from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args], capture_output=True, text=True, timeout=120
    )


def test_info_text(taxi_model_dir: Path) -> None:
    result = _cli("info", str(taxi_model_dir))
    assert result.returncode == 0, result.stderr
    assert "python_function, sklearn" in result.stdout
    assert "DictVectorizer" in result.stdout
    assert '"name": "trip_distance"' in result.stdout
    assert "scikit-learn==" in result.stdout


def test_info_json(taxi_model_dir: Path) -> None:
    result = _cli("info", str(taxi_model_dir), "--json")
    data = json.loads(result.stdout)
    assert data["flavors"] == ["python_function", "sklearn"]
    assert [c["name"] for c in data["inputs"]] == ["PU_DO", "trip_distance"]
    assert data["size_bytes"] > 0
    assert any(r.startswith("skops==") for r in data["requirements"])


def test_info_unknown_path_is_a_clear_error(tmp_path: Path) -> None:
    result = _cli("info", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert "modelpack: error: no model at" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_commands() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    assert "info" in result.stdout and "verify" in result.stdout


def test_no_command_prints_help() -> None:
    result = _cli()
    assert result.returncode == 2
    assert "usage: modelpack" in result.stdout
