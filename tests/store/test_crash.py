"""A process killed in the middle of log_model / register_model leaves the store consistent."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._crash import CRASH_ENV

from ._helpers import run_python

# pickled custom models warn on load by design; every other warning fails the test
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]

# A small custom model keeps the subprocess quick (no scikit-learn import): y = 3a + b.
LOG_AND_REGISTER = """
import numpy as np
import modelpack

class Linear(modelpack.PythonModel):
    input_kind = "any"

    def predict(self, model_input, params=None):
        return np.asarray(model_input, dtype=float) @ np.array([3.0, 1.0])

with modelpack.start_run(run_name="doomed") as run:
    print(run.run_id, flush=True)
    modelpack.log_model(Linear(), "model", registered_model_name="m")
print("survived", flush=True)
"""


def _killed(point: str) -> str:
    """Run LOG_AND_REGISTER until it kills itself at ``point``; return its run id."""
    result = run_python(LOG_AND_REGISTER, env={CRASH_ENV: point})
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "survived" not in result.stdout
    return result.stdout.split()[0]


def _check_consistent(db: Path) -> None:
    """Every version resolves to a complete model that loads and predicts."""
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    X = np.array([[1.0, 1.0]])
    for version in modelpack.search_model_versions():
        model = modelpack.load_model(f"models:/{version.name}/{version.version}")
        assert np.asarray(model.predict(X)).shape == (1,)


def _log_one(model: Any) -> int:
    with modelpack.start_run():
        info = modelpack.log_model(model, "model", registered_model_name="m")
    assert info.registered_model_version is not None
    return info.registered_model_version


def test_killed_after_writing_artifacts_before_the_commit(tiny: Any) -> None:
    assert _log_one(tiny[0]) == 1
    run_id = _killed("log-model-before-commit")

    # the files were complete (atomic save) but nothing in the database points at them
    run = modelpack.get_run(run_id)
    orphan = Path(run.info.artifact_uri) / "model"
    assert (orphan / "MLmodel").is_file()
    assert run.logged_models == () and run.info.status == "RUNNING"
    assert [v.version for v in modelpack.search_model_versions(filter_string="name = 'm'")] == [1]
    _check_consistent(Path(modelpack.get_store_uri()) / "modelpack.db")

    assert _log_one(tiny[0]) == 2  # no gap: the killed process never got a number
    _check_consistent(Path(modelpack.get_store_uri()) / "modelpack.db")


def test_killed_inside_the_version_transaction(tiny: Any) -> None:
    assert _log_one(tiny[0]) == 1
    run_id = _killed("version-before-commit")

    # the model was logged in its run (committed), but the version insert was rolled back
    run = modelpack.get_run(run_id)
    assert run.logged_models == ("model",)
    assert [v.version for v in modelpack.search_model_versions(filter_string="name = 'm'")] == [1]
    assert modelpack.get_registered_model("m").latest_versions[0].version == 1
    _check_consistent(Path(modelpack.get_store_uri()) / "modelpack.db")

    # the write lock of the dead process is gone; registering its model now works
    version = modelpack.register_model(f"runs:/{run_id}/model", "m")
    assert version.version == 2
    _check_consistent(Path(modelpack.get_store_uri()) / "modelpack.db")
    X = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(modelpack.load_model("models:/m/2").predict(X), [4.0], atol=1e-6)


@pytest.mark.parametrize("point", ["log-model-before-commit", "version-before-commit"])
def test_a_first_ever_log_killed_leaves_no_version(point: str) -> None:
    _killed(point)
    assert modelpack.search_registered_models() == []
    _check_consistent(Path(modelpack.get_store_uri()) / "modelpack.db")
