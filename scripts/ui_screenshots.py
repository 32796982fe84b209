"""Screenshots of the web UI's main pages for docs/ui.md, so the pictures stay current.

Builds a small demo store (40 runs of a ridge regression sweep, two registered versions),
starts ``modelpack ui`` on it, and saves PNGs of the main pages from headless Chromium into
``docs/ui/``::

    .venv/bin/python scripts/ui_screenshots.py            # writes docs/ui/*.png
    .venv/bin/python scripts/ui_screenshots.py --out /tmp/shots
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
TOKEN = "screenshots"


def build_store() -> None:
    """Fill the store named by MODELPACK_STORE_URI (run in a child process)."""
    import numpy as np
    from sklearn.linear_model import Ridge

    import modelpack
    import modelpack.sklearn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = X @ np.array([3.0, -2.0, 0.5, 1.0]) + rng.normal(scale=0.5, size=400)
    X_train, X_val, y_train, y_val = X[:300], X[300:], y[:300], y[300:]
    modelpack.set_experiment("nyc-taxi-duration")
    logged = []
    for i, alpha in enumerate([0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0] * 5):
        features = 2 + i % 3
        with modelpack.start_run(run_name=f"ridge-{i:02d}") as run:
            modelpack.log_params({"alpha": str(alpha), "features": str(features)})
            modelpack.set_tag("developer", ["ana", "ben", "chen"][i % 3])
            model = Ridge(alpha=alpha).fit(X_train[:, :features], y_train)
            for epoch in range(8):  # a made-up learning curve, to have histories to draw
                rmse = float(np.sqrt(np.mean((model.predict(X_val[:, :features]) - y_val) ** 2)))
                modelpack.log_metric("rmse", rmse * (1 + 0.5 / (epoch + 1)), step=epoch)
            modelpack.log_metric("r2", float(model.score(X_val[:, :features], y_val)))
            if i in (9, 17):
                modelpack.log_dict({"alpha": alpha, "features": features}, "config.json")
                modelpack.log_text("validation rows: 100\n", "notes/summary.txt")
                modelpack.sklearn.log_model(model, "model", input_example=X_val[:3, :features])
                logged.append(run.info.run_id)
    for run_id in logged:
        modelpack.register_model(
            f"runs:/{run_id}/model", "taxi-duration", description="Ridge on trip features"
        )
    modelpack.set_alias("taxi-duration", "champion", 2)
    modelpack.transition_model_version_stage("taxi-duration", 1, "Production")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    runs = _get(f"{url}/ui/api/runs?order_by={urllib.parse.quote('metrics.rmse ASC')}")["runs"]
    best = [r["run_id"] for r in runs[:12]]
    model_run = _get(f"{url}/ui/api/model?name=taxi-duration")["versions"][0]["run_id"]
    pages = [
        ("runs", "/?order_by=" + urllib.parse.quote("metrics.rmse ASC"), "#runs tbody tr"),
        ("compare", "/compare?run_ids=" + ",".join(best), None),
        ("run", f"/runs/{model_run}", None),
        ("models", "/models", "#models"),
        ("version", "/version?name=taxi-duration&version=2", "#files"),
        ("diff", "/diff?name=taxi-duration&a=1&b=2", "#diff-table table"),
    ]
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for scheme in ("light", "dark"):
            context = browser.new_context(
                viewport={"width": 1360, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            page.set_default_timeout(60_000)
            for name, path, selector in pages:
                if scheme == "dark" and name not in ("runs", "compare"):
                    continue
                page.goto(url + path)
                if selector:
                    page.wait_for_selector(selector)
                else:
                    page.wait_for_function("() => document.body.dataset.ready === '1'")
                if name == "run":
                    page.click("#artifact-list button[data-path='config.json']")
                    page.wait_for_selector("#artifact-text")
                page.wait_for_timeout(300)  # let ECharts finish its first frame
                target = out / (f"{name}.png" if scheme == "light" else f"{name}-dark.png")
                page.screenshot(path=str(target), full_page=name != "compare")
                written.append(target)
            context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ui", help="PNG folder")
    parser.add_argument("--build-store", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_store:
        build_store()
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ui-shots-") as tmp:
        store = Path(tmp) / "store"
        env = {**os.environ, "MODELPACK_STORE_URI": str(store)}
        subprocess.run([sys.executable, __file__, "--build-store"], check=True, env=env, cwd=tmp)
        token_file = Path(tmp) / "token"
        token_file.write_text(TOKEN + "\n")
        port = _free_port()
        log = Path(tmp) / "ui.log"
        command = [sys.executable, "-m", "modelpack", "ui", "--store", str(store)]
        command += ["--port", str(port), "--auth-token-file", str(token_file)]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/ui/api/session", timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(
                            f"modelpack ui did not start: {log.read_text()}"
                        ) from None
                    time.sleep(0.2)
            for path in shoot(url, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
