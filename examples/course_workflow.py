"""The course's experiment-tracking workflow, end to end.

Train several taxi-duration models with different hyperparameters, each in its own run with
its params and validation RMSE; compare the runs with ``search_runs`` ordered by RMSE; register
the best one, promote it to Production and give it the ``champion`` alias; then load it back
by ``models:/`` URI the way a scoring job would. Everything goes to the embedded store
(``./modelpack-store``, or ``MODELPACK_STORE_URI``); run it twice and the registry gains a
version.

    python examples/course_workflow.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.metrics import root_mean_squared_error

import modelpack

NAME = "nyc-taxi-regressor"
ZONES = ["43_151", "1_2", "7_9", "161_236", "132_265", "74_75"]


def trips(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic trips: a pickup_dropoff zone pair and a distance -> duration in minutes."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "PU_DO": rng.choice(ZONES, n),
            "trip_distance": rng.uniform(0.3, 15.0, n).round(2),
        }
    )
    zone = frame["PU_DO"].map({z: 2.0 * i for i, z in enumerate(ZONES)}).to_numpy()
    duration = 3.0 + 2.8 * frame["trip_distance"].to_numpy() + zone + rng.normal(0, 2.0, n)
    return frame, duration


def train_and_log(model: object, params: dict[str, object]) -> str:
    """One run: fit, evaluate, log params + rmse + the model; return the run id."""
    train, y_train = trips(2000, seed=1)
    val, y_val = trips(500, seed=2)
    dv = DictVectorizer(sparse=False)
    X_train = dv.fit_transform(train.to_dict(orient="records"))
    X_val = dv.transform(val.to_dict(orient="records"))
    with modelpack.start_run(run_name=type(model).__name__, tags={"developer": "ana"}) as run:
        modelpack.log_params({"model": type(model).__name__, **params})
        model.fit(X_train, y_train)  # type: ignore[attr-defined]
        rmse = root_mean_squared_error(y_val, model.predict(X_val))  # type: ignore[attr-defined]
        modelpack.log_metric("rmse", rmse)
        modelpack.sklearn.log_model(model, "model", preprocessor=dv, input_example=val.head(3))
    return run.run_id


def main() -> None:
    modelpack.set_experiment("nyc-taxi-experiment")
    candidates = [
        (LinearRegression(), {}),
        (Ridge(alpha=1.0), {"alpha": 1.0}),
        (Lasso(alpha=0.01), {"alpha": 0.01}),
        (Lasso(alpha=0.5), {"alpha": 0.5}),
    ]
    for model, params in candidates:
        train_and_log(model, params)

    runs = modelpack.search_runs(filter_string="metrics.rmse < 7", order_by=["metrics.rmse ASC"],
                                 max_results=5, output_format="list")  # fmt: skip
    print(f"{'run_id':34}{'model':18}{'alpha':8}rmse")
    for run in runs:
        p = run.data.params
        print(
            f"{run.run_id:34}{p['model']:18}{p.get('alpha', '-'):8}{run.data.metrics['rmse']:.3f}"
        )

    best = runs[0]
    version = modelpack.register_model(f"runs:/{best.run_id}/model", NAME)
    modelpack.transition_model_version_stage(
        NAME, version.version, "Production", archive_existing_versions=True
    )
    modelpack.set_alias(NAME, "champion", version.version)
    modelpack.update_model_version(
        NAME,
        version.version,
        description=f"best of {len(runs)} runs, rmse {best.data.metrics['rmse']:.3f}",
    )
    print(f"registered {NAME} version {version.version} (Production, @champion)")

    model = modelpack.load_model(f"models:/{NAME}/Production")
    ride = [{"PU_DO": "43_151", "trip_distance": 3.2}, {"PU_DO": "7_9", "trip_distance": 10.0}]
    print("predicted durations:", np.round(model.predict(ride), 2).tolist())
    same = modelpack.load_model(f"models:/{NAME}@champion").predict(ride)
    assert np.allclose(same, model.predict(ride))


if __name__ == "__main__":
    main()
