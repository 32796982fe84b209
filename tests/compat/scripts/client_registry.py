"""The MlflowClient API an ML engineer's scripts use: runs by hand, paging, and the registry.

Written against MLflow's API only; the compatibility tests run it with real MLflow and with the
imports changed to modelpack, and compare the summaries.

usage: python client_registry.py TRACKING_URI SUMMARY_JSON
"""

import json
import sys
import time

import mlflow
import numpy as np
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LinearRegression

tracking_uri, summary_path = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(tracking_uri)
client = MlflowClient()

exp_id = client.create_experiment("client-experiment", tags={"team": "ds"})
other_id = mlflow.create_experiment("scratch")
experiment = client.get_experiment(exp_id)

# Runs by hand with log_batch, then paging through them.
run_ids = []
now = int(time.time() * 1000)
for i in range(7):
    run = client.create_run(exp_id, run_name=f"run-{i}", tags={"index": str(i)})
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("loss", 1.0 / (i + 1), now, 0), Metric("loss", 0.5 / (i + 1), now, 1)],
        params=[Param("lr", str(0.1 * i)), Param("layers", "2")],
        tags=[RunTag("kind", "even" if i % 2 == 0 else "odd")],
    )
    client.log_param(run.info.run_id, "seed", 42)
    client.log_metric(run.info.run_id, "acc", 0.5 + i / 20, step=3)
    client.set_tag(run.info.run_id, "stage", "done")
    client.set_terminated(run.info.run_id, status="FINISHED")
    run_ids.append(run.info.run_id)

pages, token = [], None
while True:
    page = client.search_runs(
        [exp_id],
        "tags.kind = 'even'",
        order_by=["metrics.loss ASC"],
        max_results=2,
        page_token=token,
    )
    pages.append([r.info.run_name for r in page])
    token = page.token
    if not token:
        break
first_run = client.get_run(run_ids[0])

# Experiments: search and delete.
client.delete_experiment(other_id)
active_names = sorted(e.name for e in mlflow.search_experiments())
all_names = sorted(e.name for e in mlflow.search_experiments(view_type=ViewType.ALL))
deleted_stage = client.get_experiment(other_id).lifecycle_stage

# A model logged in a run, then the registry by hand.
X = np.arange(20, dtype=float).reshape(10, 2)
y = X @ np.array([1.5, -2.0]) + 3.0
with mlflow.start_run(experiment_id=exp_id, run_name="model-run") as model_run:
    mlflow.sklearn.log_model(LinearRegression().fit(X, y), artifact_path="model")
source = f"runs:/{model_run.info.run_id}/model"

name = "taxi-duration"
client.create_registered_model(name, tags={"owner": "ml-eng"}, description="first draft")
v1 = mlflow.register_model(source, name)
# Further versions of the same model, by the source the registry recorded for the first.
v2 = client.create_model_version(name, v1.source, run_id=model_run.info.run_id, tags={"ok": "yes"})
v3 = client.create_model_version(name, v1.source, run_id=model_run.info.run_id)
client.update_registered_model(name, description="duration in minutes")
client.set_registered_model_tag(name, "domain", "taxi")
client.set_model_version_tag(name, v2.version, "validated", "true")
client.set_registered_model_alias(name, "champion", v2.version)
client.set_registered_model_alias(name, "challenger", v3.version)
client.delete_registered_model_alias(name, "challenger")
client.transition_model_version_stage(name, v1.version, "Archived")
client.delete_model_version(name, v3.version)

client.rename_registered_model(name, "nyc-taxi-duration")
name = "nyc-taxi-duration"
registered = client.get_registered_model(name)
found = client.search_registered_models(filter_string="name LIKE 'nyc-taxi%'")
versions = client.search_model_versions(f"name='{name}'")
champion = client.get_model_version_by_alias(name, "champion")
v2_back = client.get_model_version(name, v2.version)
copied = client.copy_model_version(f"models:/{name}@champion", "taxi-duration-prod")

try:
    client.get_model_version(name, "99")
    missing = "no error"
except MlflowException as e:
    missing = e.error_code

model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
client.delete_registered_model("taxi-duration-prod")

summary = {
    "experiment": [experiment.name, experiment.tags.get("team"), experiment.lifecycle_stage],
    "pages": pages,
    "first_run": [
        first_run.info.run_name,
        first_run.info.status,
        dict(sorted(first_run.data.params.items())),
        dict(sorted(first_run.data.metrics.items())),
        first_run.data.tags.get("kind"),
        first_run.data.tags.get("stage"),
    ],
    "loss_history": [(m.step, m.value) for m in client.get_metric_history(run_ids[3], "loss")],
    "active_experiments": active_names,
    "all_experiments": all_names,
    "deleted_stage": deleted_stage,
    "registered": [registered.name, registered.description, dict(sorted(registered.tags.items()))],
    "aliases": dict(registered.aliases),
    "found": [m.name for m in found],
    "versions": sorted((int(v.version), v.current_stage) for v in versions),
    "champion": [int(champion.version), champion.tags.get("validated"), champion.tags.get("ok")],
    "v2_aliases": list(v2_back.aliases),
    "copied": [copied.name, int(copied.version)],
    "missing_version_error": missing,
    "predictions": np.round(model.predict(X[:3]), 6).tolist(),
}
with open(summary_path, "w") as f_sum:
    json.dump(summary, f_sum, indent=1, default=str)
