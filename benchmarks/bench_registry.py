"""Registry benchmark: log_model + register + load by models:/ URI, modelpack vs MLflow.

Both tools get the same fitted scikit-learn LinearRegression (three numeric columns) and the
same 5-row input example, in the same process, each on its own fresh SQLite store:

* modelpack: ``set_store_uri("sqlite:///<tmp>/modelpack.db")``; in a run,
  ``modelpack.sklearn.log_model(lr, "model", input_example=X, registered_model_name=NAME)``;
  then ``modelpack.load_model("models:/NAME/<version>")`` and one ``predict``.
* MLflow: ``mlflow.set_tracking_uri("sqlite:///<tmp>/mlflow.db")``; in a run,
  ``mlflow.sklearn.log_model(lr, name="model", input_example=X, registered_model_name=NAME)``;
  then ``mlflow.pyfunc.load_model("models:/NAME/<version>")`` and one ``predict``.
  Measured twice: with its defaults (it infers requirements in a subprocess) and with
  ``pip_requirements`` given, which skips that inference.

Repetitions are interleaved (modelpack, MLflow, MLflow pinned, modelpack, ...) so that a busy
machine slows all of them alike. The first repetition of each (imports, a new database) is a
warm-up and left out; the table shows medians of the others.

Run from the repository root::

    .venv/bin/python benchmarks/bench_registry.py --repeat 7
"""

from __future__ import annotations

import argparse
import logging
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

NAME = "bench-regressor"


def make_model() -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "trip_distance": rng.uniform(0.5, 12.0, 500),
            "passenger_count": rng.integers(1, 5, 500).astype("float64"),
            "hour": rng.integers(0, 24, 500).astype("float64"),
        }
    )
    y = 2.0 + 3.1 * X["trip_distance"] + 0.2 * X["hour"] + rng.normal(0, 0.5, 500)
    return LinearRegression().fit(X, y), X.head(5)


SAVE_TIMES: list[float] = []


def _timed_core_save() -> None:
    """Record how long the core's atomic save takes inside each modelpack log_model."""
    from modelpack import _save

    original = _save.save

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SAVE_TIMES.append(time.perf_counter() - t0)

    _save.save = timed  # type: ignore[assignment]


def modelpack_round(model: Any, example: Any) -> tuple[float, float]:
    import modelpack

    t0 = time.perf_counter()
    with modelpack.start_run():
        info = modelpack.sklearn.log_model(
            model, "model", input_example=example, registered_model_name=NAME
        )
    t1 = time.perf_counter()
    loaded = modelpack.load_model(f"models:/{NAME}/{info.registered_model_version}")
    loaded.predict(example)
    return t1 - t0, time.perf_counter() - t1


def mlflow_round(model: Any, example: Any, *, pinned: bool) -> tuple[float, float]:
    import mlflow

    extra: dict[str, Any] = {}
    if pinned:
        import sklearn

        extra["pip_requirements"] = [f"scikit-learn=={sklearn.__version__}"]
    t0 = time.perf_counter()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=example, registered_model_name=NAME, **extra
        )
    t1 = time.perf_counter()
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}/{info.registered_model_version}")
    loaded.predict(example)
    return t1 - t0, time.perf_counter() - t1


def setup(root: Path) -> dict[str, Callable[[], tuple[float, float]]]:
    import mlflow

    import modelpack

    model, example = make_model()
    _timed_core_save()
    (root / "mp").mkdir()
    modelpack.set_store_uri(f"sqlite:///{root}/mp/modelpack.db")
    # each MLflow variant gets its own database so neither warms the other's
    dbs = {"default": root / "mlflow-default", "pinned": root / "mlflow-pinned"}
    for path in dbs.values():
        path.mkdir()

    def with_mlflow(kind: str) -> tuple[float, float]:
        mlflow.set_tracking_uri(f"sqlite:///{dbs[kind]}/mlflow.db")
        mlflow.set_experiment(f"bench-{kind}")  # the artifact root follows the cwd
        cwd = os.getcwd()
        os.chdir(dbs[kind])
        try:
            return mlflow_round(model, example, pinned=kind == "pinned")
        finally:
            os.chdir(cwd)

    return {
        "modelpack": lambda: modelpack_round(model, example),
        "MLflow (defaults)": lambda: with_mlflow("default"),
        "MLflow (pip_requirements given)": lambda: with_mlflow("pinned"),
    }


def run(repeat: int) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        rounds = setup(Path(tmp))
        for i in range(repeat):
            for label, fn in rounds.items():
                results.setdefault(label, []).append(fn())
            print(f"repetition {i + 1}/{repeat} done", file=sys.stderr)
    return results


def table(results: dict[str, list[tuple[float, float]]]) -> str:
    base = results["modelpack"]

    def med(rows: list[tuple[float, float]], part: int | None) -> float:
        warm = rows[1:] or rows
        return statistics.median(r[part] if part is not None else r[0] + r[1] for r in warm)

    lines = [
        "| tool | log + register | load `models:/` + predict | total | total vs modelpack |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, rows in results.items():
        ratio = med(rows, None) / med(base, None)
        lines.append(
            f"| {label} | {med(rows, 0) * 1000:.1f} ms | {med(rows, 1) * 1000:.1f} ms "
            f"| {med(rows, None) * 1000:.1f} ms | {ratio:.1f}x |"
        )
    saves = statistics.median(SAVE_TIMES[1:] or SAVE_TIMES)
    store = statistics.median(r[0] for r in base[1:]) - saves
    lines.append(
        f"\nOf modelpack's log + register, the model directory itself (the core's atomic save: "
        f"serialization, signature, environment files, digests) takes {saves * 1000:.1f} ms; "
        f"runs, database records and registration take about {store * 1000:.1f} ms."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="repetitions (the first is cold)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    results = run(max(2, args.repeat))
    import mlflow

    import modelpack

    print(
        f"modelpack {modelpack.__version__}, MLflow {mlflow.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"medians of {max(2, args.repeat) - 1} warm repetitions\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
