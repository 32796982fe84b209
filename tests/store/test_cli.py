"""`modelpack runs ...` and `modelpack models ...` through real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import modelpack

from ._helpers import run_cli

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def populated(tiny: Any) -> dict[str, str]:
    """Three runs with alpha and rmse in experiment 'taxi', two registered versions of 'm'."""
    modelpack.set_experiment("taxi")
    ids = {}
    for name, alpha, rmse in [("lasso", "0.5", 7.5), ("ridge", "1.0", 5.25), ("lr", "0", 6.0)]:
        with modelpack.start_run(run_name=name) as run:
            modelpack.log_params({"alpha": alpha})
            modelpack.log_metric("rmse", rmse)
            if name != "lasso":
                modelpack.log_model(tiny[0], "model", registered_model_name="m")
        ids[name] = run.run_id
    other = modelpack.set_experiment("other").experiment_id
    with modelpack.start_run(run_name="elsewhere", experiment_id=other):
        pass
    return ids


def _ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_runs_list_table_ordered_by_a_metric(populated: dict[str, str]) -> None:
    out = _ok("runs", "list", "--experiment", "taxi", "--order-by", "metrics.rmse")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["RUN_ID", "RUN_NAME", "EXPERIMENT", "STATUS", "START_TIME"]
    assert "METRICS.RMSE" in lines[0] and "PARAMS.ALPHA" in lines[0]
    assert [line.split()[1] for line in lines[1:]] == ["ridge", "lr", "lasso"]
    assert "5.25" in lines[1] and "FINISHED" in lines[1]


def test_runs_list_json_filter_and_limit(populated: dict[str, str]) -> None:
    rows = json.loads(_ok("runs", "list", "--json", "--filter", "metrics.rmse < 7",
                          "--order-by", "metrics.rmse DESC"))  # fmt: skip
    assert [r["run_name"] for r in rows] == ["lr", "ridge"]
    assert rows[0]["metrics.rmse"] == 6.0 and rows[0]["params.alpha"] == "0"
    assert rows[0]["models"] == ["model"] and rows[0]["experiment"] == "taxi"
    every = json.loads(_ok("runs", "list", "--json"))
    assert {r["run_name"] for r in every} == {"lasso", "ridge", "lr", "elsewhere"}
    assert len(json.loads(_ok("runs", "list", "--json", "--max-results", "1"))) == 1


def test_runs_list_bad_filter_exits_1(populated: dict[str, str]) -> None:
    result = run_cli("runs", "list", "--filter", "params.alpha < 1")
    assert result.returncode == 1
    assert "params.alpha cannot be compared with <" in result.stderr


def test_runs_show(populated: dict[str, str]) -> None:
    run_id = populated["ridge"]
    out = _ok("runs", "show", run_id)
    assert f"run_id:        {run_id}" in out
    assert "  alpha: 1.0" in out and "  rmse: 5.25" in out
    assert f"runs:/{run_id}/model" in out
    data = json.loads(_ok("runs", "show", run_id, "--json"))
    assert data["info"]["status"] == "FINISHED" and data["data"]["params"] == {"alpha": "1.0"}
    missing = run_cli("runs", "show", "nope")
    assert missing.returncode == 1 and "no run with id 'nope'" in missing.stderr


def test_models_list_and_versions(populated: dict[str, str]) -> None:
    out = _ok("models", "list")
    assert out.splitlines()[0].split()[:2] == ["NAME", "LATEST_VERSION"]
    assert out.splitlines()[1].split()[:2] == ["m", "2"]
    versions = json.loads(_ok("models", "versions", "m", "--json"))
    assert [(v["version"], v["run_id"]) for v in versions] == [
        (1, populated["ridge"]), (2, populated["lr"])
    ]  # fmt: skip
    missing = run_cli("models", "versions", "n")
    assert missing.returncode == 1 and "registered models: m" in missing.stderr


def test_models_alias_moves_and_loads(populated: dict[str, str]) -> None:
    _ok("models", "alias", "m", "champion", "1")
    out = _ok("models", "alias", "m", "champion", "2")
    assert out.splitlines()[1].split()[:3] == ["2", "None", "champion"]
    assert modelpack.get_model_version_by_alias("m", "champion").version == 2
    info = json.loads(_ok("info", "models:/m@champion", "--json"))
    assert info["run_id"] == populated["lr"]
    _ok("models", "alias", "m", "champion", "--delete")
    result = run_cli("verify", "models:/m@champion")
    assert result.returncode == 1 and "has no alias 'champion'" in result.stderr


def test_models_stage_with_and_without_archiving(populated: dict[str, str]) -> None:
    _ok("models", "stage", "m", "1", "production")
    rows = json.loads(
        _ok("models", "stage", "m", "2", "Production", "--archive-existing", "--json")
    )
    assert [(r["version"], r["stage"]) for r in rows] == [(1, "Archived"), (2, "Production")]
    assert "OK" in _ok("verify", "models:/m/Production")
    bad = run_cli("models", "stage", "m", "2", "prod")
    assert bad.returncode == 1 and "unknown stage 'prod'" in bad.stderr


def test_models_register_any_uri(populated: dict[str, str], tmp_path: Path, tiny: Any) -> None:
    rows = json.loads(
        _ok("models", "register", f"runs:/{populated['ridge']}/model", "copy", "--json")
    )
    assert rows[0]["name"] == "copy" and rows[0]["version"] == 1
    modelpack.save_model(tiny[0], tmp_path / "plain")
    out = _ok("models", "register", str(tmp_path / "plain"), "copy")
    assert out.splitlines()[1].split()[0] == "2"


def test_store_option_selects_another_store(populated: dict[str, str], tmp_path: Path) -> None:
    assert _ok("models", "list", "--store", str(tmp_path / "empty-store")).strip() == "(none)"
