"""The main job, end to end, on the embedded default store (./modelpack-store):

train a small taxi-duration model, save it, log it in a run with params and metrics, register
it, give it the "champion" alias, load it back by URI, then serve it over HTTP and query it.

    python examples/quickstart.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Ridge
from sklearn.metrics import root_mean_squared_error

sys.path.insert(0, str(Path(__file__).parent))
from _data import trips

import modelpack

NAME = "nyc-taxi-regressor"


def train() -> tuple[DictVectorizer, Ridge, float, list[dict[str, object]]]:
    frame, y = trips()
    records = frame.to_dict(orient="records")
    train_rec, val_rec, y_train, y_val = records[:1500], records[1500:], y[:1500], y[1500:]
    dv = DictVectorizer().fit(train_rec)
    model = Ridge(alpha=0.5).fit(dv.transform(train_rec), y_train)
    rmse = float(root_mean_squared_error(y_val, model.predict(dv.transform(val_rec))))
    return dv, model, rmse, val_rec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_and_query(uri: str, rows: list[dict[str, object]]) -> list[float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "modelpack", "serve", uri, "--port", str(port)],
        env={**os.environ, "MODELPACK_ACCESS_LOG": "0"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        body = json.dumps({"dataframe_records": rows}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return list(json.loads(r.read())["predictions"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    dv, model, rmse, val_rec = train()
    print(f"1. trained Ridge on DictVectorizer features: validation RMSE {rmse:.3f} min")

    saved = modelpack.save_model(
        model, "models/taxi", preprocessor=dv, input_example=val_rec[:3], overwrite=True
    )
    print(f"2. saved the model directory at {saved.model_dir}")

    modelpack.set_experiment("nyc-taxi")
    with modelpack.start_run(tags={"developer": "quickstart"}) as run:
        modelpack.log_params({"alpha": 0.5, "features": "PU_DO,trip_distance"})
        modelpack.log_metric("rmse", rmse)
        info = modelpack.sklearn.log_model(
            model,
            "model",
            preprocessor=dv,
            input_example=val_rec[:3],
            registered_model_name=NAME,
        )
    version = info.registered_model_version
    print(f"3. logged {info.model_uri} in run {run.info.run_id}; registered {NAME} v{version}")

    modelpack.set_alias(NAME, "champion", version)
    uri = f"models:/{NAME}@champion"
    loaded = modelpack.load_model(uri)
    local = loaded.predict(val_rec[:3])
    print(f"4. loaded {uri}: predictions {np.round(local, 2).tolist()}")

    served = serve_and_query(uri, val_rec[:3])
    print(f"5. served {uri} over HTTP: predictions {np.round(served, 2).tolist()}")
    assert np.allclose(served, local), "served and in-process predictions differ"
    print("done: the same model, saved, logged, registered, loaded and served.")


if __name__ == "__main__":
    main()
