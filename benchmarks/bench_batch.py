"""Batch scoring: ``modelpack predict`` against the raw model in memory and ``mlflow models predict``.

One sklearn pipeline (frame -> records -> DictVectorizer -> LinearRegression, the taxi-duration
model) is saved twice, with modelpack and with MLflow, and scores the same taxi-trip file:

* ``modelpack predict``: the whole command (interpreter start, load, read, predict, write),
  CSV -> CSV and Parquet -> Parquet;
* raw model: ``pipeline.predict`` on the whole file already in memory as a DataFrame (only the
  predict call is timed, so reading the file is free for it);
* ``mlflow models predict --env-manager local``: the whole command, CSV in, JSON out.

Each runs in its own subprocess; peak memory is that process's RSS high-water mark (from
``os.wait4`` in a small runner process, see ``RUNNER``). ``modelpack predict`` also runs on a smaller file to show that its peak memory does
not depend on the file size. Data files are generated once into the cache directory.

Usage::

    python benchmarks/bench_batch.py                      # 10M rows (several minutes)
    python benchmarks/bench_batch.py --rows 200000 --memory-rows 50000 --repeat 1   # quick
    python benchmarks/bench_batch.py --rows 30000000 --memory-rows "" --skip-raw --skip-mlflow
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ZONES = [f"{pu}_{do}" for pu in range(1, 41, 3) for do in range(2, 266, 19)]  # 196 routes

RAW_SCRIPT = """
import pickle, sys, time
import pandas as pd
with open(sys.argv[1], "rb") as f:
    pipeline = pickle.load(f)
frame = pd.read_csv(sys.argv[2], engine="pyarrow")
if sys.argv[3] == "object":  # text as Python str objects, as modelpack predict hands it over
    frame["PU_DO"] = frame["PU_DO"].astype(object)
start, cpu = time.perf_counter(), time.process_time()
pred = pipeline.predict(frame)
print(time.perf_counter() - start, time.process_time() - cpu, len(pred))
"""


@dataclass
class Result:
    name: str
    rows: int
    seconds: float  # wall clock
    cpu_seconds: float  # user + system time of the process
    peak_mb: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def rows_per_cpu_s(self) -> float:
        return self.rows / self.cpu_seconds


def _taxi(n: int, seed: int) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    zones = rng.integers(0, len(ZONES), n)
    distance = rng.uniform(0.5, 12.0, n).round(2)
    frame = pd.DataFrame({"PU_DO": np.array(ZONES, dtype=object)[zones], "trip_distance": distance})
    y = 2.0 + 3.1 * distance + (zones % 17) * 0.7 + rng.normal(0, 0.5, n)
    return frame, y


def make_data(cache: Path, rows: int) -> tuple[Path, Path]:
    """CSV and Parquet files of ``rows`` trips, written once in 1M-row pieces."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    csv_path, pq_path = cache / f"trips-{rows}.csv", cache / f"trips-{rows}.parquet"
    if csv_path.exists() and pq_path.exists():
        return csv_path, pq_path
    cache.mkdir(parents=True, exist_ok=True)
    tmp_csv, tmp_pq = csv_path.with_suffix(".csv.tmp"), pq_path.with_suffix(".parquet.tmp")
    csv_writer = pq_writer = None
    for seed, start in enumerate(range(0, rows, 1_000_000)):
        frame, _ = _taxi(min(1_000_000, rows - start), seed + 100)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if csv_writer is None:
            csv_writer = pcsv.CSVWriter(str(tmp_csv), table.schema)
            pq_writer = pq.ParquetWriter(str(tmp_pq), table.schema)
        csv_writer.write_table(table)
        pq_writer.write_table(table)
    csv_writer.close()
    pq_writer.close()
    tmp_csv.rename(csv_path)
    tmp_pq.rename(pq_path)
    return csv_path, pq_path


def make_models(work: Path) -> tuple[Path, Path, Path]:
    """The pipeline as a pickle (raw), a modelpack model and an MLflow model."""
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    import modelpack

    frame, y = _taxi(20_000, 1)
    pipeline = make_pipeline(
        FunctionTransformer(pd.DataFrame.to_dict, kw_args={"orient": "records"}),
        DictVectorizer(),
        LinearRegression(),
    ).fit(frame, y)
    raw = work / "pipeline.pkl"
    raw.write_bytes(pickle.dumps(pipeline))
    mp_dir, mlflow_dir = work / "modelpack-model", work / "mlflow-model"
    modelpack.save_model(pipeline, mp_dir, input_example=frame.head(5))
    signature = infer_signature(frame.head(5), pipeline.predict(frame.head(5)))
    mlflow.sklearn.save_model(
        pipeline, str(mlflow_dir), signature=signature, serialization_format="cloudpickle"
    )
    return raw, mp_dir, mlflow_dir


# Runs the measured command and reports its rusage. A child inherits the RSS high-water mark
# of the process it was forked from, so this small process, not the benchmark (which holds
# models and generated data), must be the parent of the command being measured.
RUNNER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, f)
"""


def measure(name: str, rows: int, cmd: list[str], work: Path) -> tuple[Result, str]:
    """Run ``cmd``: wall time and the peak RSS of that process alone."""
    log, usage_file = work / "stderr.log", work / "usage.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MODELPACK_ALLOW_PICKLE": "1"}
    with open(log, "wb") as err:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, str(usage_file), *cmd],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - start
    usage = json.loads(usage_file.read_text())
    if done.returncode != 0 or usage["code"] != 0:
        raise SystemExit(f"{name} failed ({usage['code']}):\n{log.read_text()[-3000:]}")
    result = Result(name, rows, seconds, usage["cpu"], usage["maxrss_kb"] / 1024)
    return result, done.stdout.decode()


def modelpack_cmd(model: Path, source: Path, target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "modelpack",
        "predict",
        str(model),
        "-i",
        str(source),
        "-o",
        str(target),
        "--no-progress",
    ]


def _commands(
    args: argparse.Namespace, rows: int, models: tuple[Path, Path, Path], work: Path
) -> list[tuple[str, list[str]]]:
    raw, mp_model, mlflow_model = models
    csv_path, pq_path = make_data(Path(args.cache).expanduser(), rows)
    runs = [
        ("modelpack predict csv->csv", modelpack_cmd(mp_model, csv_path, work / "o.csv")),
        ("modelpack predict parquet->parquet", modelpack_cmd(mp_model, pq_path, work / "o.pq")),
    ]
    if rows != args.rows:
        return runs
    for strings in () if args.skip_raw else ("str", "object"):
        runs.append(
            (
                f"raw pipeline.predict, in memory ({strings} strings)",
                [sys.executable, "-c", RAW_SCRIPT, str(raw), str(csv_path), strings],
            )
        )
    if not args.skip_mlflow:
        mlflow_cmd = ["mlflow", "models", "predict", "-m", str(mlflow_model), "-i"]
        mlflow_cmd += [str(csv_path), "-t", "csv", "-o", str(work / "mlflow.json")]
        runs.append(
            (
                "mlflow models predict csv->json",
                [sys.executable, "-m", *mlflow_cmd, "--env-manager", "local"],
            )
        )
    return runs


def run(args: argparse.Namespace) -> list[Result]:
    """Every command ``--repeat`` times, round-robin; the best wall and CPU time of each."""
    best: dict[tuple[str, int], Result] = {}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        models = make_models(work)
        sizes = sorted({*args.memory_rows, args.rows})
        plan = [(rows, *run) for rows in sizes for run in _commands(args, rows, models, work)]
        for rep in range(args.repeat):
            print(f"-- round {rep + 1} of {args.repeat}", flush=True)
            for rows, name, cmd in plan:
                result, out = measure(name, rows, cmd, work)
                if name.startswith("raw"):  # only the predict call counts
                    result.seconds, result.cpu_seconds = map(float, out.split()[:2])
                print(
                    f"   {name:48} {rows:>11,} rows {result.seconds:7.1f} s "
                    f"{result.cpu_seconds:7.1f} cpu-s {result.peak_mb:7,.0f} MB",
                    flush=True,
                )
                key = (name, rows)
                if key in best:
                    old = best[key]
                    result.seconds = min(result.seconds, old.seconds)
                    result.cpu_seconds = min(result.cpu_seconds, old.cpu_seconds)
                    result.peak_mb = max(result.peak_mb, old.peak_mb)
                best[key] = result
    return list(best.values())


def report(results: list[Result], rows: int) -> str:
    big = {r.name: r for r in results if r.rows == rows}
    raw = big.get("raw pipeline.predict, in memory (str strings)")
    raw_obj = big.get("raw pipeline.predict, in memory (object strings)")
    lines = [
        "| run | rows | wall s | rows/s | vs raw | vs raw (object) | CPU s | rows/CPU-s "
        "| vs raw | vs raw (object) | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = [r.name, f"{r.rows:,}", f"{r.seconds:.1f}", f"{r.rows_per_s:,.0f}"]
        cells += [
            _ratio(r.rows_per_s, b.rows_per_s if b else 0, r.rows == rows) for b in (raw, raw_obj)
        ]
        cells += [f"{r.cpu_seconds:.1f}", f"{r.rows_per_cpu_s:,.0f}"]
        cells += [
            _ratio(r.rows_per_cpu_s, b.rows_per_cpu_s if b else 0, r.rows == rows)
            for b in (raw, raw_obj)
        ]
        cells.append(f"{r.peak_mb:,.0f} MB")
        lines.append("| " + " | ".join(cells) + " |")
    mlflow = big.get("mlflow models predict csv->json")
    ours = big.get("modelpack predict csv->csv")
    if mlflow and ours:
        lines.append(
            f"\nmodelpack predict (CSV) vs mlflow models predict: "
            f"{mlflow.seconds / ours.seconds:.2f}x faster (wall), "
            f"{mlflow.cpu_seconds / ours.cpu_seconds:.2f}x less CPU time"
        )
    return "\n".join(lines)


def _ratio(value: float, base: float, show: bool) -> str:
    return f"{value / base:.2f}x" if show and base else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--memory-rows",
        type=lambda text: [int(n) for n in text.split(",") if n.strip()],
        default=[1_000_000],
        help="comma-separated smaller sizes, scored by modelpack only, to compare peak memory",
    )
    parser.add_argument(
        "--cache",
        default="~/.cache/modelpack-bench",
        help="where the generated data files are kept",
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds over all commands; the best of each counts"
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    results = run(args)
    print()
    print(report(results, args.rows))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {**asdict(r), "rows_per_s": r.rows_per_s, "rows_per_cpu_s": r.rows_per_cpu_s}
                    for r in results
                ],
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
