"""modelpack against itself: two revisions of the code side by side, interleaved, in one run.

For refactors that must not cost speed. Each round starts one fresh interpreter per revision
(alternating which goes first) that imports that revision's ``modelpack`` from an extracted
tree and measures, for the taxi-duration model (DictVectorizer + LinearRegression):

- ``import modelpack`` time;
- ``save_model`` with the preprocessor, an input example and requirement inference (warm);
- ``load_model`` + the first ``predict`` of a saved model (libraries already imported);
- per-call overhead of ``predict`` over the raw model, from 1-row records and a 1-row DataFrame;
- ``PyFuncModel.prepare`` alone (modelpack's own per-call work) on those inputs.

Reported: the median of the rounds for each revision and after/before ratios (below 1 is
faster). Run from the repository root::

    .venv/bin/python benchmarks/bench_revisions.py                 # 0d95c36 vs the work tree
    .venv/bin/python benchmarks/bench_revisions.py --before 0d95c36 --after HEAD --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter with PYTHONPATH at one revision's tree; prints one JSON line.
_CHILD = r"""
import json, sys, tempfile, time, timeit
t0 = time.perf_counter()
import modelpack
import_s = time.perf_counter() - t0
import modelpack.sklearn
import numpy as np, pandas as pd
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression

rng = np.random.default_rng(0)
zones = ["43_151", "1_2", "7_9", "161_236", "132_265"]
frame = pd.DataFrame({"PU_DO": rng.choice(zones, 1000),
                      "trip_distance": rng.uniform(0.5, 12.0, 1000).round(2)})
records = frame.to_dict(orient="records")
y = 2.0 + 3.1 * frame["trip_distance"].to_numpy() + rng.normal(0, 0.5, 1000)
dv = DictVectorizer().fit(records)
lr = LinearRegression().fit(dv.transform(records), y)
work = tempfile.mkdtemp()
saves = []
for i in range(4):  # the first save imports lazily: not counted
    t = time.perf_counter()
    modelpack.sklearn.save_model(lr, f"{work}/m{i}", preprocessor=dv, input_example=frame.head(3))
    saves.append(time.perf_counter() - t)
t = time.perf_counter()
model = modelpack.load_model(f"{work}/m1")
row = frame.iloc[[7]].reset_index(drop=True)
rec = row.to_dict(orient="records")
model.predict(rec)
first_s = time.perf_counter() - t

def per_call(fn, n=2000, repeat=9):
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n

raw = per_call(lambda: lr.predict(dv.transform(rec)))
out = {
    "import_ms": import_s * 1e3,
    "save_ms": sorted(saves[1:])[1] * 1e3,  # the median of three
    "load_first_predict_ms": first_s * 1e3,
    "overhead_records_us": (per_call(lambda: model.predict(rec)) - raw) * 1e6,
    "overhead_frame_us": (per_call(lambda: model.predict(row)) - raw) * 1e6,
    "prepare_records_us": per_call(lambda: model.prepare(rec)) * 1e6,
    "prepare_frame_us": per_call(lambda: model.prepare(row)) * 1e6,
}
print(json.dumps(out))
"""


def _tree(rev: str, dest: Path) -> Path:
    """The package at ``rev`` ("WORKTREE" = the files as they are now) as an importable dir."""
    if rev == "WORKTREE":
        return ROOT
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "modelpack"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def _measure(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONSTARTUP", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"measuring {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="0d95c36", help="git revision (default: %(default)s)")
    parser.add_argument("--after", default="WORKTREE", help="git revision or WORKTREE")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="modelpack-revs-"))
    try:
        trees = {
            "before": _tree(args.before, scratch / "before"),
            "after": _tree(args.after, scratch / "after"),
        }
        samples: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for i in range(args.rounds):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            for name in order:
                samples[name].append(_measure(trees[name]))
            print(f"round {i + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    keys = list(samples["before"][0])
    med = {n: {k: statistics.median(s[k] for s in samples[n]) for k in keys} for n in samples}
    print(
        f"python benchmarks/bench_revisions.py --before {args.before} --after {args.after} "
        f"--rounds {args.rounds}  (medians of interleaved fresh processes)\n"
    )
    print(f"| measure | before ({args.before}) | after ({args.after}) | after / before |")
    print("|---|---|---|---|")
    for k in keys:
        b, a = med["before"][k], med["after"][k]
        print(f"| {k} | {b:.1f} | {a:.1f} | {a / b:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
