"""Eight processes register versions of one model at the same time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import modelpack

# pickled custom models warn on load by design; every other warning fails the test
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]

WORKERS = 8
PER_WORKER = 10

# Each worker imports everything, waits for the go file (so all of them log at once), then
# logs and registers PER_WORKER distinct models: y = X @ [worker, i] + 0.5. The model is a
# small custom PythonModel (cloudpickle) so that the test time goes into the store, not into
# eight imports of scikit-learn on a small machine.
WORKER = """
import sys, time
from pathlib import Path
import numpy as np
import modelpack

class Linear(modelpack.PythonModel):
    input_kind = "any"
    row_wise = True

    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype=float)

    def predict(self, model_input, params=None):
        return np.asarray(model_input, dtype=float) @ self.weights + 0.5

worker, go, per = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
while not go.exists():
    time.sleep(0.01)
for i in range(per):
    with modelpack.start_run(run_name=f"w{worker}-{i}"):
        modelpack.log_params({"worker": worker, "i": i})
        modelpack.pyfunc.log_model(Linear([worker, i]), "model", registered_model_name="shared")
"""


@pytest.mark.slow
def test_eight_processes_register_eighty_versions(tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(w), str(go), str(PER_WORKER)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    versions = modelpack.search_model_versions(
        filter_string="name = 'shared'", order_by=["version_number ASC"]
    )
    assert [v.version for v in versions] == list(range(1, WORKERS * PER_WORKER + 1))
    locations = [v.storage_location for v in versions]
    assert len(set(locations)) == len(locations)  # no folder shared by two versions
    assert len({v.run_id for v in versions}) == len(versions)

    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    seen = set()
    for v in versions:
        params = modelpack.get_run(v.run_id or "").data.params
        worker, i = int(params["worker"]), int(params["i"])
        seen.add((worker, i))
        model = modelpack.load_model(f"models:/shared/{v.version}")
        np.testing.assert_allclose(model.predict(X), X @ np.array([worker, i]) + 0.5, atol=1e-6)
    assert seen == {(w, i) for w in range(WORKERS) for i in range(PER_WORKER)}
    runs = modelpack.search_runs(max_results=1000, output_format="list")
    assert len(runs) == WORKERS * PER_WORKER
    assert all(r.info.status == "FINISHED" and r.logged_models == ("model",) for r in runs)
