"""A training and registry script as the experiment-tracking course teaches it, by hand.

Written against MLflow's API only. The compatibility tests run it twice: as it is, with real
MLflow, and with the imports changed to modelpack. Both runs write the same summary.

usage: python course_by_hand.py TRACKING_URI SUMMARY_JSON
"""

import json
import os
import pickle
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.metrics import root_mean_squared_error

tracking_uri, summary_path = sys.argv[1], sys.argv[2]
ZONES = ["43_151", "1_2", "7_9", "161_236", "132_265"]


def trips(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"PU_DO": rng.choice(ZONES, n), "trip_distance": rng.uniform(0.3, 15.0, n).round(2)}
    )
    zone = df["PU_DO"].map({z: 2.0 * i for i, z in enumerate(ZONES)}).to_numpy()
    y = 3.0 + 2.8 * df["trip_distance"].to_numpy() + zone + rng.normal(0, 2.0, n)
    return df, y


mlflow.set_tracking_uri(tracking_uri)
assert mlflow.get_tracking_uri() == tracking_uri
mlflow.set_experiment("nyc-taxi-experiment")

train, y_train = trips(1000, 1)
val, y_val = trips(300, 2)
dv = DictVectorizer(sparse=False)
X_train = dv.fit_transform(train.to_dict(orient="records"))
X_val = dv.transform(val.to_dict(orient="records"))
workdir = tempfile.mkdtemp()
with open(os.path.join(workdir, "preprocessor.b"), "wb") as f_out:
    pickle.dump(dv, f_out)

candidates = [
    ("linreg", LinearRegression(), {}),
    ("ridge-1", Ridge(alpha=1.0), {"alpha": 1.0}),
    ("lasso-0.01", Lasso(alpha=0.01), {"alpha": 0.01}),
    ("lasso-2", Lasso(alpha=2.0), {"alpha": 2.0}),
]
for run_name, model, params in candidates:
    with mlflow.start_run(run_name=run_name):
        mlflow.set_tag("developer", "ana")
        mlflow.log_param("train-data-path", "./data/green_tripdata_2021-01.parquet")
        mlflow.log_params(params)
        model.fit(X_train, y_train)
        rmse = root_mean_squared_error(y_val, model.predict(X_val))
        mlflow.log_metric("rmse", rmse)
        for step, frac in enumerate([0.25, 0.5, 1.0]):
            mlflow.log_metric("rmse_by_fraction", rmse * (2 - frac), step=step)
        mlflow.log_artifact(os.path.join(workdir, "preprocessor.b"), artifact_path="preprocessor")
        mlflow.log_text(f"model: {run_name}\n", "notes/summary.txt")
        mlflow.log_dict({"zones": ZONES}, "notes/zones.json")
        mlflow.sklearn.log_model(model, artifact_path="models_mlflow")

# One run the team decided to throw away.
with mlflow.start_run(run_name="mistake") as mistake:
    mlflow.log_metric("rmse", 0.0)
mlflow.delete_run(mistake.info.run_id)

client = MlflowClient()
experiment = client.get_experiment_by_name("nyc-taxi-experiment")
runs = client.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="metrics.rmse < 10",
    run_view_type=ViewType.ACTIVE_ONLY,
    max_results=5,
    order_by=["metrics.rmse ASC"],
)
deleted = client.search_runs(
    experiment_ids=[experiment.experiment_id], run_view_type=ViewType.DELETED_ONLY
)
every = client.search_runs(experiment_ids=[experiment.experiment_id], run_view_type=ViewType.ALL)
frame = mlflow.search_runs(experiment_names=["nyc-taxi-experiment"], order_by=["metrics.rmse ASC"])

best = runs[0]
run_id = best.info.run_id
history = client.get_metric_history(run_id, "rmse_by_fraction")
# MLflow 3 keeps logged models beside the run, not among its artifacts: compare the rest.
artifacts = sorted(a.path for a in client.list_artifacts(run_id) if a.path != "models_mlflow")
notes = sorted((a.path, a.is_dir) for a in client.list_artifacts(run_id, "notes"))
local = client.download_artifacts(run_id, "preprocessor", workdir)
with open(os.path.join(local, "preprocessor.b"), "rb") as f_in:
    dv_back = pickle.load(f_in)
text = mlflow.artifacts.load_text(f"runs:/{run_id}/notes/summary.txt")
zones = mlflow.artifacts.load_dict(f"runs:/{run_id}/notes/zones.json")

name = "nyc-taxi-regressor"
model_uri = f"runs:/{run_id}/models_mlflow"
mv = mlflow.register_model(model_uri=model_uri, name=name)
second = mlflow.register_model(model_uri=f"runs:/{runs[1].info.run_id}/models_mlflow", name=name)
client.transition_model_version_stage(name=name, version=mv.version, stage="Staging")
client.transition_model_version_stage(
    name=name, version=mv.version, stage="Production", archive_existing_versions=True
)
client.transition_model_version_stage(name=name, version=second.version, stage="Staging")
client.set_registered_model_alias(name, "champion", mv.version)
client.update_model_version(name=name, version=mv.version, description="best rmse")
latest = client.get_latest_versions(name, stages=["Production", "Staging"])
champion = client.get_model_version_by_alias(name, "champion")

model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
by_stage = mlflow.pyfunc.load_model(f"models:/{name}/Production")
X_rows = dv_back.transform(val.head(5).to_dict(orient="records"))
predictions = np.asarray(model.predict(X_rows)).tolist()

summary = {
    "tracking_uri": mlflow.get_tracking_uri() == tracking_uri,
    "selected": [r.info.run_name for r in runs],
    "selected_rmse": [round(r.data.metrics["rmse"], 9) for r in runs],
    "deleted": [r.info.run_name for r in deleted],
    "every_count": len(every),
    "frame_columns_subset": sorted(
        c for c in frame.columns if c in {"run_id", "metrics.rmse", "params.alpha", "status"}
    ),
    "frame_rows": len(frame),
    "frame_first": frame.iloc[0]["tags.mlflow.runName"],
    "best_params": dict(sorted(best.data.params.items())),
    "best_tags": {k: v for k, v in best.data.tags.items() if k in ("developer", "mlflow.runName")},
    "history": [(m.step, round(m.value, 9)) for m in history],
    "artifacts": artifacts,
    "notes": notes,
    "text": text,
    "zones": zones,
    "features": list(dv_back.feature_names_),
    "versions": [mv.version, second.version],
    "latest": sorted((int(v.version), v.current_stage) for v in latest),
    "champion": [int(champion.version), champion.current_stage, champion.description],
    "champion_run": champion.run_id == run_id,
    "predictions": [round(p, 6) for p in predictions],
    "same_by_stage": np.allclose(by_stage.predict(X_rows), predictions),
}
with open(summary_path, "w") as f_sum:
    json.dump(summary, f_sum, indent=1, default=str)
