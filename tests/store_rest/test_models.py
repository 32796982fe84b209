"""Artifacts, log_model, loading runs:/ and models:/ and the registry through a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.exceptions import ModelExistsError, ModelNotFoundError


def test_artifacts_log_list_download(rest: Any, name: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01" * 1000)
    one = tmp_path / "notes.md"
    one.write_text("# notes")
    modelpack.set_experiment(name)
    with modelpack.start_run() as run:
        rest.log_artifacts(run.info.run_id, src, "data")
        rest.log_artifact(run.info.run_id, one, None)
    run_id = run.info.run_id
    top = rest.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("data", True), ("notes.md", False)]
    below = rest.list_artifacts(run_id, "data/sub")
    assert [(f.path, f.file_size) for f in below] == [("data/sub/b.bin", 2000)]
    assert rest.list_artifacts(run_id, "notes.md") == []
    got = rest.download_artifacts(run_id, "data", tmp_path / "out")
    assert (got / "a.txt").read_text() == "alpha"
    assert (got / "sub" / "b.bin").read_bytes() == b"\x00\x01" * 1000
    single = rest.download_artifacts(run_id, "notes.md", tmp_path / "out2")
    assert single.read_text() == "# notes"
    with pytest.raises(ModelNotFoundError):
        rest.download_artifacts(run_id, "missing.txt", tmp_path / "out3")


def _log_taxi(taxi: Any, taxi_dv_lr: Any, name: str, registered: str | None = None) -> Any:
    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    modelpack.set_experiment(name)
    with modelpack.start_run() as run:
        info = modelpack.log_model(
            lr, "model", preprocessor=dv, input_example=frame.head(3),
            registered_model_name=registered,
        )  # fmt: skip
    return run, info


def test_log_model_and_load_runs_uri(
    rest: Any, name: str, taxi: Any, taxi_dv_lr: Any, tmp_path: Path
) -> None:
    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    local = tmp_path / "local-model"
    modelpack.save_model(lr, local, preprocessor=dv)
    run, info = _log_taxi(taxi, taxi_dv_lr, name)
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert not any(rest.run_artifact_dir(run.info.run_id).iterdir())  # staging emptied
    names = [f.path for f in rest.list_artifacts(run.info.run_id, "model")]
    assert "model/MLmodel" in names
    assert modelpack.get_run(run.info.run_id).logged_models == ("model",)
    assert [m.artifact_path for m in rest.list_logged_models(run.info.run_id)] == ["model"]
    loaded = modelpack.load_model(info.model_uri)
    expected = modelpack.load_model(local).predict(frame.head(20))
    np.testing.assert_allclose(loaded.predict(frame.head(20)), expected)
    with modelpack.start_run(run_id=run.info.run_id), pytest.raises(ModelExistsError):
        modelpack.log_model(lr, "model", preprocessor=dv)


def test_mlflow_client_loads_what_modelpack_logged(
    rest: Any, server: Any, name: str, taxi: Any, taxi_dv_lr: Any
) -> None:
    _, info = _log_taxi(taxi, taxi_dv_lr, name, registered=name)
    row = {"PU_DO": ["A_B"], "trip_distance": [3.0]}
    script = textwrap.dedent(
        f"""
        import mlflow, pandas as pd
        mlflow.set_tracking_uri({server.url!r})
        m = mlflow.pyfunc.load_model("models:/{name}/1")
        print(float(m.predict(pd.DataFrame({row!r}))[0]))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_REGISTRY_URI",)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    import pandas as pd

    ours = modelpack.load_model(info.model_uri).predict(pd.DataFrame(row))
    assert float(done.stdout.split()[-1]) == pytest.approx(float(np.asarray(ours)[0]))


def test_registry_aliases_stages_and_models_uri(
    rest: Any, name: str, taxi: Any, taxi_dv_lr: Any
) -> None:
    frame, _, _ = taxi
    run, info = _log_taxi(taxi, taxi_dv_lr, name, registered=name)
    assert info.registered_model_version == 1
    v2 = modelpack.register_model(info.model_uri, name)
    assert v2.version == 2 and v2.run_id == run.info.run_id
    assert v2.source.endswith(f"{run.info.run_id}/artifacts/model")
    modelpack.set_alias(name, "champion", 1)
    assert modelpack.get_model_version_by_alias(name, "champion").version == 1
    assert modelpack.get_registered_model(name).aliases == {"champion": 1}
    modelpack.transition_model_version_stage(name, 2, "production")
    assert modelpack.get_model_version(name, 2).current_stage == "Production"
    want = modelpack.load_model(info.model_uri).predict(frame.head(5))
    for uri in (f"models:/{name}@champion", f"models:/{name}/Production", f"models:/{name}/2",
                f"models:/{name}/latest"):  # fmt: skip
        np.testing.assert_allclose(modelpack.load_model(uri).predict(frame.head(5)), want)
    modelpack.delete_alias(name, "champion")
    with pytest.raises(ModelNotFoundError):
        modelpack.load_model(f"models:/{name}@champion")
    with pytest.raises(ModelNotFoundError):
        modelpack.get_model_version(name, 9)
    with pytest.raises(ModelNotFoundError):
        modelpack.get_registered_model(name + "-absent")
    found = modelpack.search_model_versions(filter_string=f"name = '{name}'")
    assert sorted(v.version for v in found) == [1, 2]
