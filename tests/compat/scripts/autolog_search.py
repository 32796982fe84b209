"""Autologging scikit-learn and XGBoost, then picking the best run, as MLflow users write it.

Written against MLflow's API only; the compatibility tests run it with real MLflow and with the
imports changed to modelpack, and compare the summaries.

usage: python autolog_search.py TRACKING_URI SUMMARY_JSON
"""

import json
import sys

import mlflow
import mlflow.sklearn
import mlflow.xgboost
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow.tracking import MlflowClient
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

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
mlflow.set_experiment("autolog-experiment")
train, y_train = trips(800, 1)
val, y_val = trips(200, 2)
records = train.to_dict(orient="records")

mlflow.sklearn.autolog(log_input_examples=True, silent=True)

# 1. A pipeline fitted outside any run: autolog starts and ends one, and logs it once.
pipe = make_pipeline(DictVectorizer(sparse=False), LinearRegression())
pipe.fit(records, y_train)
pipeline_run = mlflow.last_active_run()

# 2. Inside the user's own run, with a metric of their own.
with mlflow.start_run(run_name="ridge") as ridge_run:
    ridge = make_pipeline(DictVectorizer(sparse=False), Ridge(alpha=0.5)).fit(records, y_train)
    rmse = root_mean_squared_error(y_val, ridge.predict(val.to_dict(orient="records")))
    mlflow.log_metric("val_rmse", rmse)

# 3. A grid search: a parent run and a child run per candidate.
dv = DictVectorizer(sparse=False).fit(records)
X = dv.transform(records)
with mlflow.start_run(run_name="search") as search_run:
    grid = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, cv=3).fit(X, y_train)

mlflow.sklearn.autolog(disable=True)
with mlflow.start_run(run_name="untracked-fit") as quiet_run:
    LinearRegression().fit(X, y_train)

# 4. XGBoost's native API with evaluation sets.
mlflow.xgboost.autolog(silent=True)
dtrain = xgb.DMatrix(X, label=y_train)
dval = xgb.DMatrix(dv.transform(val.to_dict(orient="records")), label=y_val)
with mlflow.start_run(run_name="xgb") as xgb_run:
    booster = xgb.train(
        {"max_depth": 3, "eta": 0.3, "objective": "reg:squarederror", "seed": 1},
        dtrain,
        num_boost_round=8,
        evals=[(dtrain, "train"), (dval, "validation")],
    )
mlflow.xgboost.autolog(disable=True)

client = MlflowClient()
pipe_data = client.get_run(pipeline_run.info.run_id).data
ridge_data = client.get_run(ridge_run.info.run_id).data
search_data = client.get_run(search_run.info.run_id).data
children = client.search_runs(
    [search_run.info.experiment_id],
    filter_string=f"tags.mlflow.parentRunId = '{search_run.info.run_id}'",
)
xgb_data = client.get_run(xgb_run.info.run_id).data
val_history = client.get_metric_history(xgb_run.info.run_id, "validation-rmse")

loaded = mlflow.sklearn.load_model(f"runs:/{ridge_run.info.run_id}/model")
preds = np.asarray(loaded.predict(val.head(4).to_dict(orient="records"))).tolist()
xgb_loaded = mlflow.xgboost.load_model(f"runs:/{xgb_run.info.run_id}/model")

summary = {
    "pipeline_params": {k: pipe_data.params[k] for k in ("linearregression__fit_intercept",)},
    "pipeline_metric_names": sorted(k for k in pipe_data.metrics if k.startswith("training_")),
    "pipeline_r2": round(pipe_data.metrics["training_r2_score"], 9),
    "pipeline_estimator": pipe_data.tags.get("estimator_name"),
    "ridge_params": {k: ridge_data.params[k] for k in ("ridge__alpha",)},
    "ridge_metrics": sorted(ridge_data.metrics),
    "ridge_val_rmse": round(ridge_data.metrics["val_rmse"], 9),
    "search_best": {k: v for k, v in search_data.params.items() if k.startswith("best_")},
    "search_has_cv_score": "best_cv_score" in search_data.metrics,
    "children": sorted(r.data.params.get("alpha") for r in children),
    "quiet_run_params": client.get_run(quiet_run.info.run_id).data.params,
    "xgb_params": {k: xgb_data.params[k] for k in ("max_depth", "eta", "num_boost_round")},
    "xgb_metrics": sorted(xgb_data.metrics),
    "xgb_history": [(m.step, round(m.value, 6)) for m in val_history],
    "ridge_predictions": [round(p, 6) for p in preds],
    "xgb_native_predicts": np.allclose(xgb_loaded.predict(dval), booster.predict(dval)),
    "fitted_estimator_returned": isinstance(grid.best_estimator_, Ridge),
}
with open(summary_path, "w") as f_sum:
    json.dump(summary, f_sum, indent=1, default=str)
