"""The real MLflow 3 client against a modelpack server: a run, log_model + register, load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.server.conftest import Running, env_without_store

SCRIPT = r"""
import sys
import mlflow
import numpy as np
from sklearn.linear_model import LinearRegression

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("interop")
X = np.arange(20, dtype=float).reshape(10, 2)
y = X @ [1.0, 2.0]
with mlflow.start_run() as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("rmse", 0.25)
    mlflow.log_metric("rmse", 0.125, step=1)
    model = LinearRegression().fit(X, y)
    mlflow.sklearn.log_model(model, name="model", registered_model_name="taxi")
client = mlflow.MlflowClient()
found = client.get_run(run.info.run_id)
assert found.data.params == {"alpha": "0.5"}, found.data.params
assert found.data.metrics["rmse"] == 0.125, found.data.metrics
history = [m.value for m in client.get_metric_history(run.info.run_id, "rmse")]
assert history == [0.25, 0.125], history
version = client.get_model_version("taxi", "1")
assert str(version.version) == "1" and version.run_id == run.info.run_id, version
client.set_registered_model_alias("taxi", "champion", "1")
for uri in ("models:/taxi/1", "models:/taxi@champion"):
    pred = mlflow.pyfunc.load_model(uri).predict(X[:3])
    assert np.allclose(pred, y[:3]), pred
print("MLFLOW-CLIENT-OK")
"""


def test_mlflow_logs_registers_and_loads_through_the_server(
    server: Running, tmp_path: Path
) -> None:
    env = env_without_store()
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, server.url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr + server.log.read_text()
    assert "MLFLOW-CLIENT-OK" in done.stdout
    assert "Traceback" not in server.log.read_text()
    # the model's files went to the artifacts destination, MLmodel included
    assert list((tmp_path / "artifacts").glob("*/models/m-*/artifacts/MLmodel"))


METRICS_SCRIPT = r"""
import sys
import mlflow

client = mlflow.MlflowClient(sys.argv[1])
exp = client.create_experiment("metrics-steps")
run = client.create_run(exp)
run_id = run.info.run_id
client.log_metric(run_id, "loss", 0.5, timestamp=1_700_000_000_000, step=3)
client.log_metric(run_id, "loss", 0.9, timestamp=1_700_000_000_500, step=1)
client.log_metric(run_id, "acc", 0.75, timestamp=1_700_000_001_000, step=7)
client.set_terminated(run_id)
found = {m.key: (m.value, m.step, m.timestamp) for m in client.get_run(run_id).data._metric_objs}
assert found == {
    "loss": (0.5, 3, 1_700_000_000_000),
    "acc": (0.75, 7, 1_700_000_001_000),
}, found
print("METRICS-OK")
"""


def test_get_run_gives_each_metric_its_step_and_timestamp(server: Running, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", METRICS_SCRIPT, server.url],
        cwd=tmp_path,
        env=env_without_store(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr + server.log.read_text()
    assert "METRICS-OK" in done.stdout
