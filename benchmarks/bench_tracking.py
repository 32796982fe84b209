"""Tracking benchmark: the same MLflow tracking code on modelpack and on MLflow, side by side.

Every case runs one piece of code twice, once with ``import mlflow`` and once with
``import modelpack as mlflow`` (``MlflowClient`` and ``Metric`` from each tool's own
``tracking`` / ``entities`` modules), each tool on its own fresh SQLite store in a temporary
directory, in one process. Rounds are interleaved (modelpack, MLflow, modelpack, ...) so that a
busy machine slows both alike; a warm-up round comes first and is left out; tables show medians
of the ``--repeat`` measured rounds.

Cases (``--case``, repeatable; default: all):

* ``autolog``: what autologging adds to one ``fit`` (a DictVectorizer + LinearRegression
  pipeline on 10,000 taxi records; an XGBRegressor with an eval set), measured by
  ``bench_autolog.py`` (same folder), whose table this case prints. Target: modelpack's
  overhead at least 20x lower than MLflow's.
* ``log_metric``: 10,000 metric values into one run, with ``log_metric(key, value, step=i)``
  inside ``start_run`` (one call per value), and with ``MlflowClient().log_batch(run_id,
  metrics=[Metric(...)])`` in 10 calls of 1,000 (MLflow's per-call limit). Throughput in
  values/s. Target: at least 10x MLflow's.
* ``search``: 10,000 finished runs in one experiment (each: two metrics, two params, a tag;
  made with ``create_run`` + ``log_batch`` + ``set_terminated``, whose time per run is
  reported too; MLflow makes the first ``--mlflow-api-runs`` so, the rest are copies of those
  rows in its database, since its API needs minutes per thousand runs), then
  ``MlflowClient().search_runs`` with ``filter_string="metrics.rmse < 5 and params.model =
  'ridge'"`` and ``order_by=["metrics.rmse ASC"]`` (first page of 1,000, MLflow's default),
  and ``mlflow.search_runs`` (the same search, every match, as a pandas DataFrame). Target: at
  least 10x faster than MLflow.

Results are printed and written to ``docs/tracking-benchmarks.md`` (one section per case: a
run of some cases replaces only their sections). Nothing here asserts a time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tracking.py       # every case; MLflow's 10,000 log_metric
                                                        # calls alone take minutes per round
    .venv/bin/python benchmarks/bench_tracking.py --case search --runs 2000 --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "tracking-benchmarks.md"
CASES = ("autolog", "log_metric", "search")
BATCH = 1000  # MLflow's limit of metrics per log_batch call


@dataclass
class Tool:
    """One tool as MLflow code sees it: the module, its client class and its Metric."""

    name: str
    mlflow: ModuleType
    tracking: ModuleType
    client_class: Any
    Metric: Any
    Param: Any
    RunTag: Any

    def client(self) -> Any:
        return self.client_class()


def load_tools(names: list[str]) -> list[Tool]:
    tools = []
    for name in names:
        module = "modelpack" if name == "modelpack" else "mlflow"
        top = importlib.import_module(module)
        tracking = importlib.import_module(f"{module}.tracking")
        entities = importlib.import_module(f"{module}.entities")
        tools.append(
            Tool(
                name,
                top,
                tracking,
                tracking.MlflowClient,
                entities.Metric,
                entities.Param,
                entities.RunTag,
            )
        )
    return tools


@contextlib.contextmanager
def fresh_stores(tools: list[Tool], label: str) -> Iterator[Path]:
    """A temporary working directory with one new SQLite store per tool, set as current."""
    with tempfile.TemporaryDirectory(prefix=f"bench-tracking-{label}-") as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # MLflow puts artifacts under the working directory
        try:
            for tool in tools:
                folder = Path(tmp) / tool.name
                folder.mkdir()
                tool.tracking.set_tracking_uri(f"sqlite:///{folder}/store.db")
            yield Path(tmp)
        finally:
            os.chdir(cwd)


def _median(values: list[float]) -> float:
    return statistics.median(v for v in values if not math.isnan(v))


# ------------------------------------------------------------------------------ log_metric


def log_metric_calls(tool: Tool, n: int) -> float:
    """Seconds for ``n`` fluent ``log_metric`` calls in one run."""
    mlflow = tool.mlflow
    with mlflow.start_run():
        t0 = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        return time.perf_counter() - t0


def log_batch_calls(tool: Tool, n: int) -> float:
    """Seconds for ``n`` metric values sent with the client's ``log_batch``."""
    client = tool.client()
    mlflow = tool.mlflow
    with mlflow.start_run() as run:
        now = int(time.time() * 1000)
        metrics = [tool.Metric("loss", 1.0 / (i + 1), now + i, i) for i in range(n)]
        t0 = time.perf_counter()
        for start in range(0, n, BATCH):
            client.log_batch(run.info.run_id, metrics=metrics[start : start + BATCH])
        return time.perf_counter() - t0


def case_log_metric(tools: list[Tool], *, values: int, repeat: int) -> str:
    timings: dict[tuple[str, str], list[float]] = {}
    calls = (("log_metric", log_metric_calls), ("log_batch", log_batch_calls))
    with fresh_stores(tools, "log-metric"):
        for tool in tools:  # warm-up: imports, the first run and the tables' first pages
            for _, measure in calls:
                measure(tool, min(values, 200))
        for round_ in range(repeat):
            for how, measure in calls:
                for tool in tools:
                    timings.setdefault((how, tool.name), []).append(measure(tool, values))
            print(f"log_metric: round {round_ + 1}/{repeat}", file=sys.stderr)
    lines = [
        f"{values:,} metric values into one run; medians of {repeat} rounds (after a short "
        "warm-up round).\n",
        "| call | modelpack | MLflow | modelpack / MLflow throughput |",
        "|---|---:|---:|---:|",
    ]
    for how in ("log_metric", "log_batch"):
        cells = {t.name: _median(timings[(how, t.name)]) for t in tools}
        row = [
            f"`{how}`" + (" (1 call per value)" if how == "log_metric" else f" ({BATCH} per call)")
        ]
        for name in ("modelpack", "MLflow"):
            row.append(
                f"{values / cells[name]:,.0f} values/s ({cells[name] * 1000:.0f} ms)"
                if name in cells
                else "n/a"
            )
        row.append(f"{cells['MLflow'] / cells['modelpack']:.1f}x" if len(cells) == 2 else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- search

FILTER = "metrics.rmse < 5 and params.model = 'ridge'"
ORDER = ["metrics.rmse ASC"]


def run_values(i: int) -> dict[str, Any]:
    """Run ``i``'s metrics, params and tag: the same for both tools."""
    import random

    rng = random.Random(i)
    return {
        "name": f"run-{i}",
        "metrics": {"rmse": rng.uniform(2.0, 12.0), "mae": rng.uniform(1.0, 8.0)},
        "params": {
            "model": "ridge" if i % 2 else "lasso",
            "alpha": str(rng.choice([0.01, 0.1, 1.0])),
        },
        "tags": {"developer": rng.choice(["ana", "bo", "cy"])},
    }


def make_runs(tool: Tool, experiment_id: str, first: int, count: int) -> str:
    """Make runs ``first`` .. ``first + count - 1`` through the API; the last run's id."""
    client = tool.client()
    run_id = ""
    for i in range(first, first + count):
        values = run_values(i)
        run = client.create_run(experiment_id, run_name=values["name"])
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[tool.Metric(k, v, now, 0) for k, v in values["metrics"].items()],
            params=[tool.Param(k, v) for k, v in values["params"].items()],
            tags=[tool.RunTag(k, v) for k, v in values["tags"].items()],
        )
        client.set_terminated(run_id)
        if i and i % 2000 == 0:
            print(f"search: {tool.name} {i:,} runs made", file=sys.stderr)
    return run_id


def copy_runs(database: Path, template_id: str, first: int, count: int) -> None:
    """Add runs ``first`` .. by copying every row of the template run in MLflow's database.

    MLflow needs about 0.1-0.2 s per run through its API here (10,000 runs: 15-30 minutes),
    so past the first few hundred the runs are copied from one it made, row for row in every
    table keyed by ``run_uuid``, with the new run's id, name and values: the same rows its API
    writes, only faster. The search is what is timed.
    """
    import sqlite3
    import uuid

    db = sqlite3.connect(database)
    db.row_factory = sqlite3.Row
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if any(col[1] == "run_uuid" for col in db.execute(f"PRAGMA table_info({name})"))
    ]
    template = {
        t: [dict(r) for r in db.execute(f"SELECT * FROM {t} WHERE run_uuid = ?", (template_id,))]
        for t in tables
    }
    with db:
        for i in range(first, first + count):
            values, run_id = run_values(i), uuid.uuid4().hex
            by_key = {**values["metrics"], **values["params"], **values["tags"]}
            by_key["mlflow.runName"] = values["name"]
            for table, rows in template.items():
                for row in rows:
                    row = {**row, "run_uuid": run_id}
                    if table == "runs":
                        row["name"] = values["name"]
                        row["artifact_uri"] = str(row["artifact_uri"]).replace(template_id, run_id)
                    elif row.get("key") in by_key and "value" in row:
                        row["value"] = by_key[row["key"]]
                    columns = ", ".join(row)
                    marks = ", ".join("?" * len(row))
                    db.execute(
                        f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values())
                    )
    db.close()


def populate(tool: Tool, runs: int, api_runs: int) -> tuple[str, float]:
    """``runs`` finished runs in a new experiment; (experiment id, seconds per run via the API)."""
    experiment_id = tool.client().create_experiment("search-bench")
    through_api = runs if tool.name == "modelpack" else min(runs, api_runs)
    t0 = time.perf_counter()
    last = make_runs(tool, experiment_id, 0, through_api)
    per_run = (time.perf_counter() - t0) / through_api
    if through_api < runs:
        database = Path(tool.tracking.get_tracking_uri().removeprefix("sqlite:///"))
        copy_runs(database, last, through_api, runs - through_api)
    return experiment_id, per_run


def search_page(tool: Tool, experiment_id: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    page = tool.client().search_runs(
        [experiment_id], filter_string=FILTER, order_by=ORDER, max_results=1000
    )
    return time.perf_counter() - t0, len(page)


def search_frame(tool: Tool, experiment_id: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    frame = tool.mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string=FILTER, order_by=ORDER
    )
    return time.perf_counter() - t0, len(frame)


def case_search(tools: list[Tool], *, runs: int, repeat: int, api_runs: int) -> str:
    timings: dict[tuple[str, str], list[float]] = {}
    made: dict[str, float] = {}
    found: dict[tuple[str, str], int] = {}
    with fresh_stores(tools, "search"):
        experiments = {}
        for tool in tools:
            experiments[tool.name], made[tool.name] = populate(tool, runs, api_runs)
        for round_ in range(repeat + 1):  # the first round is a warm-up
            for how, measure in (("page", search_page), ("frame", search_frame)):
                for tool in tools:
                    seconds, count = measure(tool, experiments[tool.name])
                    timings.setdefault((how, tool.name), []).append(seconds if round_ else math.nan)
                    found[(how, tool.name)] = count
            print(f"search: round {round_ + 1}/{repeat + 1}", file=sys.stderr)
    counts = {how: {found[(how, t.name)] for t in tools} for how in ("page", "frame")}
    assert all(len(c) == 1 for c in counts.values()), f"the tools found different runs: {found}"
    lines = [
        f"{runs:,} finished runs; filter `{FILTER}`, order `{ORDER[0]}`; medians of "
        f"{repeat} rounds (after a warm-up round).\n",
        "| call | runs returned | modelpack | MLflow | modelpack faster by |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {
        "page": "`MlflowClient().search_runs(..., max_results=1000)`",
        "frame": "`search_runs(...)` (pandas DataFrame)",
    }
    for how in ("page", "frame"):
        cells = {t.name: _median(timings[(how, t.name)]) for t in tools}
        row = [labels[how], f"{counts[how].pop():,}"]
        row += [
            f"{cells[n] * 1000:.1f} ms" if n in cells else "n/a" for n in ("modelpack", "MLflow")
        ]
        row.append(f"{cells['MLflow'] / cells['modelpack']:.1f}x" if len(cells) == 2 else "")
        lines.append("| " + " | ".join(row) + " |")
    if len(made) == 2:
        lines.append(
            "| making one run (`create_run` + `log_batch` + `set_terminated`; mean) | "
            f"| {made['modelpack'] * 1000:.1f} ms | {made['MLflow'] * 1000:.1f} ms "
            f"| {made['MLflow'] / made['modelpack']:.1f}x |"
        )
        if api_runs < runs:
            lines.append(
                f"\nmodelpack made all {runs:,} runs through its API; MLflow made the first "
                f"{api_runs:,} through its API, the rest were copied row for row from the last "
                "of those in its database (its API would take minutes per thousand runs here)."
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------------- autolog


def case_autolog(*, repeat: int) -> str:
    sys.path.insert(0, str(HERE))
    bench_autolog = importlib.import_module("bench_autolog")
    results, own = bench_autolog.run(repeat + 1)  # its first repetition is a warm-up
    lines = [bench_autolog.table(results, own), ""]
    lines.append("| training | modelpack overhead | MLflow overhead | MLflow / modelpack |")
    lines.append("|---|---:|---:|---:|")
    trainings = sorted({training for training, _ in results})
    for training in trainings:
        bare = _median(results[(training, "bare")])
        ours = _median(results[(training, "modelpack")]) - bare
        row = f"| {training} | {ours * 1000:.1f} ms"
        if (training, "MLflow") in results:
            theirs = _median(results[(training, "MLflow")]) - bare
            ratio = f"{theirs / ours:.0f}x" if ours > 0 else "(modelpack's within noise)"
            row += f" | {theirs * 1000:.1f} ms | {ratio} |"
        else:
            row += " | n/a | |"
        lines.append(row)
    lines.append(
        "\nOverheads are medians of the autologged fit minus the bare fit's median, with each "
        "tool's defaults (models logged)."
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ main


def versions() -> str:
    import modelpack

    parts = [f"modelpack {modelpack.__version__}"]
    try:
        import mlflow

        parts.append(f"MLflow {mlflow.__version__}")
    except ImportError:
        parts.append("MLflow not installed")
    parts.append(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    return ", ".join(parts)


def write_doc(sections: dict[str, str], command: str) -> None:
    """Replace (or add) each case's section of the results page."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else _DOC_HEAD
    for case, body in sections.items():
        block = f"<!-- case:{case} -->\n## {case}\n\n`{command}` ({versions()})\n\n{body}\n<!-- /case:{case} -->"
        pattern = re.compile(rf"<!-- case:{case} -->.*?<!-- /case:{case} -->", re.DOTALL)
        match = pattern.search(text)
        if match:
            text = text[: match.start()] + block + text[match.end() :]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


_DOC_HEAD = """# Tracking benchmarks

The same MLflow tracking code run with `import mlflow` and with `import modelpack as mlflow`,
each tool on its own fresh SQLite store, in one process, interleaved rounds after a warm-up
round, medians. Written by `benchmarks/bench_tracking.py` (run from the repository root with
`.venv/bin/python`); each section says the command that produced it. Targets: autolog overhead at least 20x lower than MLflow's; `log_metric` /
`log_batch` throughput and `search_runs` speed at least 10x MLflow's.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=CASES, help="repeatable; default all")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds per case")
    parser.add_argument("--values", type=int, default=10_000, help="metric values (log_metric)")
    parser.add_argument("--runs", type=int, default=10_000, help="runs to search (search)")
    parser.add_argument(
        "--mlflow-api-runs",
        type=int,
        default=300,
        help="runs MLflow makes through its API before the rest are copied in its database",
    )
    parser.add_argument("--no-mlflow", action="store_true", help="measure modelpack alone")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    names = ["modelpack"] if args.no_mlflow else ["modelpack", "MLflow"]
    repeat = max(1, args.repeat)
    cases = args.case or list(CASES)
    command = "python benchmarks/bench_tracking.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    runners: dict[str, Callable[[], str]] = {
        "autolog": lambda: case_autolog(repeat=repeat),
        "log_metric": lambda: case_log_metric(load_tools(names), values=args.values, repeat=repeat),
        "search": lambda: case_search(
            load_tools(names), runs=args.runs, repeat=repeat, api_runs=args.mlflow_api_runs
        ),
    }
    sections = {}
    print(versions() + "\n")
    for case in cases:
        sections[case] = runners[case]()
        print(f"## {case}\n\n{sections[case]}\n", flush=True)
    if not args.no_write:
        write_doc(sections, command.strip())


if __name__ == "__main__":
    main()
