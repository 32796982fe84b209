"""The web UI beside ``mlflow ui``: time to a usable runs page and to a drawn comparison.

Both tools get the same runs (3 params, an ``rmse`` history of 10 steps, ``mae``, a tag):

1. ``--base`` runs (default 1,000) are logged through each tool's own API: modelpack's store
   interface, and MLflow's ``MlflowClient`` on a SQLite store.
2. Larger sizes copy those runs inside each tool's own database with SQL (``INSERT ...
   SELECT`` into the same tables, new run ids, start times shifted by a millisecond per copy):
   logging 100,000 runs through MLflow's client would take longer than the rest of the
   benchmark together. The copies are rows each tool's own API writes, nothing else.

Each UI is started as a real server (``modelpack ui`` and ``mlflow ui``, default options) and
loaded in a fresh headless Chromium context (empty cache) after one warm-up load:

- *runs page*: from navigation to the runs table showing its first rows (modelpack:
  ``#runs tbody tr``; MLflow: its runs grid's rows).
- *compare 100 runs*: from navigation to the comparison drawn (modelpack: every chart on the
  page drawn - parallel coordinates, scatter, contour, metric histories - and the table;
  MLflow: its parallel-coordinates plot, the first chart of its compare page).

Run from the repository root::

    .venv/bin/python benchmarks/bench_ui.py                   # 1,000 and 100,000 runs
    .venv/bin/python benchmarks/bench_ui.py --sizes 1000      # smaller, quicker
    .venv/bin/python benchmarks/bench_ui.py --no-write        # print only

The results table goes into ``docs/ui.md`` between the ``bench_ui`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"
DOC = ROOT / "docs" / "ui.md"
START, END = "<!-- bench_ui:start -->", "<!-- bench_ui:end -->"
STEPS = 10


# ----------------------------------------------------------------------------- the runs
def _run_data(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    alpha, depth, lr = rng.choice([0.01, 0.1, 0.5, 1.0]), rng.randint(2, 10), rng.random()
    final = 5 + alpha * 3 - depth * 0.2 + lr + rng.random()
    return {
        "name": f"run-{i:05d}",
        "params": {"alpha": str(alpha), "depth": str(depth), "lr": f"{lr:.4f}"},
        "rmse": [final + (STEPS - s) * 0.5 for s in range(STEPS)],
        "mae": final * 0.8,
        "tags": {"team": rng.choice(["a", "b", "c"])},
    }


def log_modelpack(store_dir: Path, n: int) -> str:
    from modelpack._store import Metric, NewRun, get_store, now_ms

    store = get_store(str(store_dir))
    exp = store.create_experiment("bench")
    t0 = now_ms()
    for i in range(n):
        data = _run_data(i)
        run = store.create_run(NewRun(exp, data["name"], "bench", t0 + i, data["tags"]))
        metrics = [Metric("rmse", v, t0 + i + s, s) for s, v in enumerate(data["rmse"])]
        metrics.append(Metric("mae", data["mae"], t0 + i, 0))
        store.log_batch(run.run_id, params=data["params"], metrics=metrics, tags={})
        store.update_run_info(run.run_id, status="FINISHED", end_time=t0 + i + 1000)
    store.close()
    return exp


def log_mlflow(db: Path, artifacts: Path, n: int) -> str:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment("bench", artifact_location=str(artifacts))
    t0 = int(time.time() * 1000)
    for i in range(n):
        data = _run_data(i)
        run = client.create_run(exp, start_time=t0 + i, run_name=data["name"])
        metrics = [Metric("rmse", v, t0 + i + s, s) for s, v in enumerate(data["rmse"])]
        metrics.append(Metric("mae", data["mae"], t0 + i, 0))
        params = [Param(k, v) for k, v in data["params"].items()]
        tags = [RunTag(k, v) for k, v in data["tags"].items()]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        client.set_terminated(run.info.run_id, end_time=t0 + i + 1000)
    return exp


def copy_runs(db: Path, id_column: str, copies: int) -> None:
    """Copy every run ``copies`` times inside its own database: every table holding a
    ``id_column`` gets the same rows with a new run id; start times move by ``k`` ms."""
    conn = sqlite3.connect(db)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    plans = []
    for table in tables:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        names = [c[1] for c in info]
        if id_column not in names:
            continue
        cols, exprs = [], []
        for _cid, name, _type, _notnull, _default, pk in info:
            if pk and name != id_column and len([c for c in info if c[5]]) == 1:
                continue  # an autoincrement key (the metrics' seq): let SQLite number it
            cols.append(name)
            if name == id_column:
                exprs.append(f"substr({id_column}, 1, 26) || printf('%06d', :k)")
            elif name in ("start_time", "end_time") and table == "runs":
                exprs.append(f"{name} + :k")
            elif name in ("artifact_uri", "artifact_location") and table == "runs":
                exprs.append(
                    f"replace({name}, {id_column}, "
                    f"substr({id_column}, 1, 26) || printf('%06d', :k))"
                )
            else:
                exprs.append(name)
        plans.append((table, cols, exprs))
    base = [r[0] for r in conn.execute(f"SELECT {id_column} FROM runs")]
    conn.execute("CREATE TEMP TABLE base (id TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO temp.base VALUES (?)", [(b,) for b in base])
    with conn:
        for k in range(1, copies + 1):
            for table, cols, exprs in plans:
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
                    f"FROM {table} WHERE {id_column} IN (SELECT id FROM temp.base)",
                    {"k": k},
                )
    conn.execute("ANALYZE")
    conn.close()


# ---------------------------------------------------------------------------- servers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(command: list[str], port: int, log: Path) -> Iterator[str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[:3]} exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


# ---------------------------------------------------------------------------- browser
def measure(browser: Any, url: str, ready: Callable[[Any], None], repeat: int) -> float:
    """Median seconds from navigation to ``ready(page)`` returning, each in a fresh context
    (empty cache), after one warm-up load."""
    times = []
    for i in range(repeat + 1):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(600_000)
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        ready(page)
        elapsed = time.perf_counter() - start
        context.close()
        if i:
            times.append(elapsed)
    return statistics.median(times)


def modelpack_runs_ready(page: Any) -> None:
    page.wait_for_selector("#runs tbody tr")


def modelpack_compare_ready(page: Any) -> None:
    page.wait_for_function("() => document.body.dataset.ready === '1'", polling=20)


def mlflow_runs_ready(page: Any) -> None:
    page.wait_for_selector("[data-testid='experiment-view-table-run-color']")


def mlflow_compare_ready(page: Any) -> None:
    page.wait_for_selector(".js-plotly-plot .parcoords")


def newest_ids(db: Path, id_column: str, n: int) -> list[str]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        f"SELECT {id_column} FROM runs ORDER BY start_time DESC LIMIT ?", (n,)
    ).fetchall()
    conn.close()
    return [r[0] for r in rows]


def bench_size(folder: Path, size: int, base: dict[str, Any], repeat: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    mp_dir, ml_db = folder / f"mp-{size}", folder / f"mlflow-{size}.db"
    subprocess.run(["cp", "-r", str(base["mp_dir"]), str(mp_dir)], check=True)
    subprocess.run(["cp", str(base["ml_db"]), str(ml_db)], check=True)
    copies = size // base["n"] - 1
    t = time.perf_counter()
    if copies > 0:
        copy_runs(mp_dir / "modelpack.db", "run_id", copies)
        copy_runs(ml_db, "run_uuid", copies)
    print(f"[{size}] copied in {time.perf_counter() - t:.1f} s", flush=True)
    result: dict[str, Any] = {"size": size}
    mp_port, ml_port = _free_port(), _free_port()
    mp_cmd = [PYTHON, "-m", "modelpack", "ui", "--store", str(mp_dir), "--port", str(mp_port)]
    ml_cmd = [
        str(Path(PYTHON).with_name("mlflow")), "ui", "--backend-store-uri", f"sqlite:///{ml_db}",
        "--default-artifact-root", str(folder / "ml-art"), "--port", str(ml_port),
    ]  # fmt: skip
    mp_ids = newest_ids(mp_dir / "modelpack.db", "run_id", 100)
    ml_ids = newest_ids(ml_db, "run_uuid", 100)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        with serve(mp_cmd, mp_port, folder / f"mp-{size}.log") as url:
            exp = base["mp_exp"]
            result["mp_runs"] = measure(
                browser, f"{url}/?experiment_id={exp}", modelpack_runs_ready, repeat
            )
            result["mp_compare"] = measure(
                browser, f"{url}/compare?run_ids={','.join(mp_ids)}", modelpack_compare_ready,
                repeat,
            )  # fmt: skip
        print(f"[{size}] modelpack {result['mp_runs']:.2f} s / {result['mp_compare']:.2f} s")
        with serve(ml_cmd, ml_port, folder / f"ml-{size}.log") as url:
            exp = base["ml_exp"]
            result["ml_runs"] = measure(
                browser, f"{url}/#/experiments/{exp}/runs", mlflow_runs_ready, repeat
            )
            runs = urllib.parse.quote(json.dumps(ml_ids))
            experiments = urllib.parse.quote(json.dumps([exp]))
            result["ml_compare"] = measure(
                browser, f"{url}/#/compare-runs?runs={runs}&experiments={experiments}",
                mlflow_compare_ready, repeat,
            )  # fmt: skip
        print(f"[{size}] mlflow    {result['ml_runs']:.2f} s / {result['ml_compare']:.2f} s")
        browser.close()
    return result


def table(results: list[dict[str, Any]], command: str, base: int, repeat: int) -> str:
    lines = [
        f"Measured with `{command}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} CPUs, "
        f"shared), median of {repeat} cold loads each; the first {base:,} runs logged through "
        "each tool's API, larger stores copied by SQL inside each tool's own tables.",
        "",
        "| runs | page | modelpack ui | mlflow ui | mlflow / modelpack |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in results:
        for label, mp, ml in (
            ("runs page usable", r["mp_runs"], r["ml_runs"]),
            ("comparison of 100 runs drawn", r["mp_compare"], r["ml_compare"]),
        ):
            lines.append(f"| {r['size']:,} | {label} | {mp:.2f} s | {ml:.2f} s | {ml / mp:.1f}x |")
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    if START in doc and END in doc:
        head, rest = doc.split(START, 1)
        _, tail = rest.split(END, 1)
        doc = f"{head}{START}\n{text}\n{END}{tail}"
    else:
        doc += f"\n{START}\n{text}\n{END}\n"
    DOC.write_text(doc, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated run counts")
    parser.add_argument("--base", type=int, default=1000, help="runs logged through the APIs")
    parser.add_argument("--repeat", type=int, default=3, help="measured loads per page")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/ui.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(s % args.base for s in sizes):
        parser.error("every size must be a multiple of --base")
    os.environ.setdefault("MLFLOW_TRACKING_URI", "")  # no stray server from the environment
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        mp_exp = log_modelpack(folder / "mp-base", args.base)
        t_mp = time.perf_counter() - t
        t = time.perf_counter()
        ml_exp = log_mlflow(folder / "mlflow-base.db", folder / "ml-art", args.base)
        t_ml = time.perf_counter() - t
        print(f"logged {args.base} runs: modelpack {t_mp:.1f} s, mlflow {t_ml:.1f} s", flush=True)
        base = {
            "n": args.base, "mp_dir": folder / "mp-base", "ml_db": folder / "mlflow-base.db",
            "mp_exp": mp_exp, "ml_exp": ml_exp,
        }  # fmt: skip
        results = [bench_size(folder, size, base, args.repeat) for size in sizes]
    command = "python benchmarks/bench_ui.py " + " ".join(sys.argv[1:])
    text = table(results, command.strip(), args.base, args.repeat)
    text += (
        f"\n\nLogging the first {args.base:,} runs took {t_mp:.1f} s through modelpack's store "
        f"and {t_ml:.1f} s through MLflow's client."
    )
    print(text)
    if not args.no_write:
        write_doc(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
