"""The course's workflow: compare runs by RMSE, register the best, load it by stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack

from ._helpers import run_python

pytestmark = pytest.mark.filterwarnings("error")

REPO = Path(__file__).resolve().parents[2]


def test_best_run_registered_and_loaded_by_stage(taxi: Any) -> None:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import Lasso, Ridge
    from sklearn.metrics import root_mean_squared_error

    frame, records, y = taxi
    train, val, y_train, y_val = records[:200], records[200:], y[:200], y[200:]
    dv = DictVectorizer(sparse=False).fit(train)
    modelpack.set_experiment("nyc-taxi-experiment")
    for model_cls, alpha in [(Lasso, 1.0), (Ridge, 0.1), (Lasso, 0.01), (Ridge, 100.0)]:
        with modelpack.start_run(tags={"developer": "ana"}):
            model = model_cls(alpha=alpha).fit(dv.transform(train), y_train)
            rmse = root_mean_squared_error(y_val, model.predict(dv.transform(val)))
            modelpack.log_params({"model": model_cls.__name__, "alpha": alpha})
            modelpack.log_metric("rmse", rmse)
            modelpack.sklearn.log_model(
                model, "model", preprocessor=dv, input_example=frame.head(2)
            )

    runs = modelpack.search_runs(
        filter_string="metrics.rmse < 7",
        order_by=["metrics.rmse ASC"],
        max_results=5,
        output_format="list",
    )
    rmses = [r.data.metrics["rmse"] for r in runs]
    assert rmses == sorted(rmses) and 1 <= len(runs) <= 4
    best = runs[0]
    every = modelpack.search_runs(order_by=["metrics.rmse ASC"], output_format="list")
    assert best.run_id == every[0].run_id and best.data.params["model"] in ("Lasso", "Ridge")

    version = modelpack.register_model(f"runs:/{best.run_id}/model", "nyc-taxi-regressor")
    modelpack.transition_model_version_stage(
        "nyc-taxi-regressor", version.version, "Production", archive_existing_versions=True
    )
    loaded = modelpack.load_model("models:/nyc-taxi-regressor/Production")
    assert loaded.metadata.run_id == best.run_id
    predictions = loaded.predict(val)
    assert np.isclose(root_mean_squared_error(y_val, predictions), best.data.metrics["rmse"])


@pytest.mark.slow
def test_the_course_workflow_example_runs(tmp_path: Path) -> None:
    script = REPO / "examples" / "course_workflow.py"
    first = run_python(script.read_text(), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "registered nyc-taxi-regressor version 1 (Production, @champion)" in first.stdout
    second = run_python(script.read_text(), cwd=tmp_path)
    assert "version 2 (Production, @champion)" in second.stdout, second.stderr
    stages = {
        v.version: v.current_stage
        for v in modelpack.search_model_versions(filter_string="name = 'nyc-taxi-regressor'")
    }
    assert stages == {1: "Archived", 2: "Production"}
