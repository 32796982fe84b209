"""Autolog benchmark: what autologging adds to one ``fit``, modelpack vs MLflow.

Two trainings, each timed bare and under autologging, with no run active (so each autologged
fit starts and ends a run of its own, the common case):

* taxi: ``Pipeline(DictVectorizer, LinearRegression)`` fitted on 10,000 dict records
  (a categorical zone pair and a numeric distance);
* xgboost: ``XGBRegressor(n_estimators=50, max_depth=4)`` on 10,000 rows x 8 columns with an
  ``eval_set`` of 2,000 rows (50 rounds of ``validation_0-rmse``).

Variants: bare ``fit``; ``modelpack._autolog.autolog()`` on a fresh SQLite store; MLflow's
``mlflow.sklearn.autolog()`` / ``mlflow.xgboost.autolog()`` on a fresh ``sqlite:///`` tracking
URI (when MLflow is installed). Each autologger is measured with its defaults and with
``log_models=False`` (what the rest of the logging costs). Only one autologger is enabled at a
time; they are switched on and off between fits, and the repetitions are interleaved so that a
busy machine slows all of them alike; the cheap variants run three fits per repetition, MLflow
with its defaults one. The first repetition (imports, new databases, MLflow's first environment
capture) is a warm-up and left out; the table shows medians, and the overhead is the variant's
median minus the bare fit's median. On a shared machine that difference is noisy next to a
fit of a few hundred ms, so modelpack's own work is also timed directly: the time its autolog
spends outside the original ``fit`` (run, params, metrics, model), per fit.

Run from the repository root::

    .venv/bin/python benchmarks/bench_autolog.py --repeat 5
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ZONES = [f"{a}_{b}" for a in range(12) for b in range(12)]


def taxi_data() -> tuple[list[dict[str, Any]], Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    zones = rng.choice(ZONES, 10_000)
    distance = rng.uniform(0.5, 12.0, 10_000).round(2)
    records = [{"PU_DO": z, "trip_distance": float(d)} for z, d in zip(zones, distance)]
    y = 2.0 + 3.1 * distance + rng.normal(0, 0.5, 10_000)
    return records, y


def xgb_data() -> tuple[Any, Any, Any, Any]:
    import numpy as np

    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (12_000, 8))
    y = X @ rng.normal(0, 1, 8) + rng.normal(0, 0.3, 12_000)
    return X[:10_000], y[:10_000], X[10_000:], y[10_000:]


def trainings() -> dict[str, Callable[[], Any]]:
    import xgboost as xgb
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    records, y = taxi_data()
    X, yx, Xv, yv = xgb_data()

    def taxi() -> Any:
        return make_pipeline(DictVectorizer(), LinearRegression()).fit(records, y)

    def boosted() -> Any:
        model = xgb.XGBRegressor(n_estimators=50, max_depth=4, n_jobs=1)
        return model.fit(X, yx, eval_set=[(Xv, yv)], verbose=False)

    return {"taxi": taxi, "xgboost": boosted}


class Autologgers:
    """Switches one autologger on at a time, each on its own store."""

    def __init__(self, root: Path) -> None:
        import modelpack

        modelpack.set_store_uri(f"sqlite:///{root}/modelpack/modelpack.db")
        (root / "modelpack").mkdir()
        self.root = root
        try:
            import mlflow
        except ImportError:
            self.mlflow = None
        else:
            self.mlflow = mlflow
            (root / "mlflow").mkdir()
            mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow/mlflow.db")

    def variants(self) -> list[str]:
        names = ["bare", "modelpack", "modelpack (log_models=False)"]
        if self.mlflow is not None:
            names += ["MLflow", "MLflow (log_models=False)"]
        return names

    def enable(self, variant: str, training: str) -> None:
        log_models = "log_models=False" not in variant
        if variant.startswith("modelpack"):
            from modelpack._autolog import autolog

            autolog(log_models=log_models, silent=True)
        elif variant.startswith("MLflow"):
            assert self.mlflow is not None
            flavor = self.mlflow.sklearn if training == "taxi" else self.mlflow.xgboost
            flavor.autolog(log_models=log_models, silent=True)

    def disable(self, variant: str, training: str) -> None:
        if variant.startswith("modelpack"):
            from modelpack._autolog import autolog

            autolog(disable=True)
        elif variant.startswith("MLflow"):
            assert self.mlflow is not None
            flavor = self.mlflow.sklearn if training == "taxi" else self.mlflow.xgboost
            flavor.autolog(disable=True)


OWN_WORK: list[float] = []


def _time_own_work() -> None:
    """Record, per autologged call, the time spent outside the original training function.

    An XGBoost scikit-learn fit logs its params and rounds from the ``train`` call inside the
    fit; that logging counts as own work too, not as training.
    """
    from modelpack._autolog import _session, _xgboost

    original = _session._logged
    inner = {"depth": 0, "logging": 0.0}

    def timed(integration: str, settings: Any, what: str, make: Any, invoke: Any) -> Any:
        inside = 0.0

        def timed_invoke(hooks: Any) -> Any:
            nonlocal inside
            inner["depth"] += 1
            t0 = time.perf_counter()
            try:
                return invoke(hooks)
            finally:
                inside += time.perf_counter() - t0
                inner["depth"] -= 1

        inner["logging"] = 0.0
        t0 = time.perf_counter()
        try:
            return original(integration, settings, what, make, timed_invoke)
        finally:
            OWN_WORK.append(time.perf_counter() - t0 - inside + inner["logging"])

    def timed_step(step: Any) -> Any:
        def run_step(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                if inner["depth"]:
                    inner["logging"] += time.perf_counter() - t0

        return run_step

    _session._logged = timed  # type: ignore[assignment]
    for name in ("__init__", "before", "after"):
        setattr(_xgboost._TrainCall, name, timed_step(getattr(_xgboost._TrainCall, name)))


def run(
    repeat: int,
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[float]]]:
    from sklearn.linear_model import LinearRegression

    _time_own_work()
    plain_fit = LinearRegression.fit
    results: dict[tuple[str, str], list[float]] = {}
    own: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-autolog-") as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # MLflow's default artifact root follows the working directory
        try:
            loggers = Autologgers(Path(tmp))
            jobs = trainings()
            for i in range(repeat):
                for training, fit in jobs.items():
                    for variant in loggers.variants():
                        loggers.enable(variant, training)
                        for _ in range(1 if variant == "MLflow" else 3):
                            OWN_WORK.clear()
                            t0 = time.perf_counter()
                            fit()
                            elapsed = time.perf_counter() - t0
                            key = (training, variant)
                            results.setdefault(key, []).append(elapsed if i else math.nan)
                            if variant.startswith("modelpack"):
                                own.setdefault(key, []).append(sum(OWN_WORK) if i else math.nan)
                        loggers.disable(variant, training)
                        assert LinearRegression.fit is plain_fit, f"{variant} left a patch"
                print(f"repetition {i + 1}/{repeat} done", file=sys.stderr)
        finally:
            os.chdir(cwd)
    return results, own


def _median(rows: list[float]) -> float:
    return statistics.median(r for r in rows if not math.isnan(r))  # the warm-up is NaN


def table(
    results: dict[tuple[str, str], list[float]], own: dict[tuple[str, str], list[float]]
) -> str:
    lines = [
        "| training | variant | fit | overhead (vs bare) | modelpack's own work | "
        "overhead / modelpack's own work |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (training, variant), rows in results.items():
        time_s = _median(rows)
        if variant == "bare":
            lines.append(f"| {training} | bare | {time_s * 1000:.1f} ms | | | |")
            continue
        overhead = time_s - _median(results[(training, "bare")])
        same = "modelpack" + (" (log_models=False)" if "log_models=False" in variant else "")
        ours = _median(own[(training, same)])
        own_cell = (
            f"{_median(own[(training, variant)]) * 1000:.1f} ms"
            if (training, variant) in own
            else ""
        )
        ratio = f"{overhead / ours:.0f}x" if variant.startswith("MLflow") else ""
        lines.append(
            f"| {training} | {variant} | {time_s * 1000:.1f} ms | {overhead * 1000:.1f} ms "
            f"| {own_cell} | {ratio} |"
        )
    lines.append(
        "\nMLflow rows are compared with modelpack's own work in the same configuration "
        "(defaults, or log_models=False)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (the first is cold)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    repeat = max(2, args.repeat)
    results, own = run(repeat)
    import sklearn
    import xgboost

    import modelpack

    try:
        import mlflow

        mlflow_version = f"MLflow {mlflow.__version__}"
    except ImportError:
        mlflow_version = "MLflow not installed"
    print(
        f"modelpack {modelpack.__version__}, {mlflow_version}, scikit-learn "
        f"{sklearn.__version__}, XGBoost {xgboost.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; medians "
        f"of {repeat - 1} warm repetitions (3 fits each, MLflow with defaults 1)\n"
    )
    print(table(results, own))


if __name__ == "__main__":
    main()
