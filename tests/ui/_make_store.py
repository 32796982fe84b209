"""Fill the store named by MODELPACK_STORE_URI with what the UI tests look at.

Run as a script (python tests/ui/_make_store.py), so the tests' own process never holds the
store open: 24 runs in experiment "ui-test" with params, metric histories, tags (one holding
markup), artifacts, a logged model registered twice as "ui-model".
"""

from __future__ import annotations

import base64
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression

import modelpack
import modelpack.sklearn

INJECTION = "<script>alert(1)</script>"
#: a 1x1 PNG
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def main() -> None:
    random.seed(7)
    modelpack.set_experiment("ui-test")
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = X @ np.array([1.0, 2.0])
    model_runs = []
    for i in range(24):
        with modelpack.start_run(run_name=f"run-{i:02d}") as run:
            modelpack.log_params({"alpha": f"{0.05 * (i % 6):.2f}", "depth": str(2 + i % 5)})
            for step in range(4):
                modelpack.log_metric("rmse", 10.0 - i * 0.3 + step * 0.1, step=step)
            modelpack.log_metric("mae", (i * 7 % 24) / 10.0)
            modelpack.set_tag("note", INJECTION if i == 3 else f"plain-{i}")
            if i in (0, 1):
                modelpack.log_text("hello artifact\n", "notes/readme.txt")
                modelpack.log_dict({"a": 1, "html": INJECTION}, "info.json")
                with tempfile.TemporaryDirectory() as folder:
                    png = Path(folder) / "pixel.png"
                    png.write_bytes(PIXEL)
                    modelpack.log_artifact(str(png), "plots")
                fitted = LinearRegression().fit(X, y * (i + 1))
                modelpack.sklearn.log_model(fitted, "model", input_example=X[:2])
                model_runs.append(run.info.run_id)
    for run_id in model_runs:
        modelpack.register_model(f"runs:/{run_id}/model", "ui-model")
    print("ok", file=sys.stderr)


if __name__ == "__main__":
    main()
