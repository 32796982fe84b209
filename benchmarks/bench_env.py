"""Environment capture and restore, side by side with MLflow, measured in one run.

    .venv/bin/python benchmarks/bench_env.py            # everything (restores need PyPI)
    .venv/bin/python benchmarks/bench_env.py --quick    # requirement inference and sizes only

The same fitted model (a DictVectorizer + LinearRegression pipeline on synthetic taxi trips)
is saved once by each tool. Then:

* requirement inference: ``mlflow.models.infer_pip_requirements`` on MLflow's copy (it loads
  the model in a subprocess and records every imported module) against modelpack's inference
  on its copy (pickle opcodes / skops schema, distribution lookup) plus the lock;
* environment restore: ``modelpack env create`` (uv) against ``mlflow models prepare-env``
  with ``--env-manager uv`` and ``virtualenv``; each tool gets a fresh uv cache for its
  first ("cold") restore and reuses it for a second ("warm") one. Both use the network
  (PyPI) here; modelpack's offline restore from a bundle's wheelhouse is timed too;
* sizes: the model directories, the ``modelpack pack`` archive and the environments.

Prints a Markdown table; ``--json FILE`` also writes the numbers.
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
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _model() -> Any:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import make_taxi  # the data set the test-suite uses
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    _, records, y = make_taxi(2000)
    return make_pipeline(DictVectorizer(), LinearRegression()).fit(records, y), records


def _timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def _kb(n: int) -> str:
    return f"{n / 1e3:.1f} KB"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def inference(
    work: Path, rows: list[tuple[str, str, str, str]], data: dict[str, Any]
) -> tuple[Path, Path]:
    import mlflow.sklearn
    from mlflow.models import infer_pip_requirements

    import modelpack
    from modelpack import _env, _requirements

    model, records = _model()
    ours, theirs = work / "modelpack-model", work / "mlflow-model"
    modelpack.save_model(model, ours, input_example=records[:3])
    mlflow.sklearn.save_model(model, str(theirs), serialization_format="cloudpickle")

    t_mlflow, reqs = _timed(lambda: infer_pip_requirements(str(theirs), "sklearn"), repeat=3)

    def capture() -> list[str]:
        inferred = _requirements.infer(ours, (model,))
        lines = _env.pin(["scikit-learn", "modelpack", "numpy", *inferred.distributions])
        _env.write_lock(ours, lines, path=work / "bench.lock")
        return lines

    # The first call pays for the metadata lookups (cached per process afterwards).
    _requirements._env.distribution_of.cache_clear()
    t_first, _ = _timed(capture)
    t_ours, lines = _timed(capture, repeat=20)
    t_infer, _ = _timed(lambda: _requirements.infer(ours, (model,)), repeat=20)
    rows.append(
        (
            "requirement inference + lock, first call",
            f"{t_mlflow:.2f} s",
            f"{t_first * 1000:.1f} ms",
            f"{t_mlflow / t_first:.0f}x",
        )
    )
    rows.append(
        (
            "same, repeated in one process (median of 20)",
            "",
            f"{t_ours * 1000:.1f} ms (inference alone {t_infer * 1000:.1f} ms)",
            "",
        )
    )
    rows.append(("model directory", _kb(_size(theirs)), _kb(_size(ours)), ""))
    saved = (ours / _env.REQUIREMENTS_FILE).read_text().split()
    data.update(
        infer_mlflow_s=t_mlflow,
        infer_modelpack_first_s=t_first,
        infer_modelpack_s=t_ours,
        infer_only_s=t_infer,
        mlflow_requirements=reqs,
        modelpack_requirements=saved,
        capture_lines=lines,
    )
    return ours, theirs


def _env_for(cache: Path, root: Path) -> dict[str, str]:
    env = dict(os.environ, UV_CACHE_DIR=str(cache), MLFLOW_ENV_ROOT=str(root))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def restore(
    work: Path,
    ours: Path,
    theirs: Path,
    rows: list[tuple[str, str, str, str]],
    data: dict[str, Any],
) -> None:
    modelpack_cli = [sys.executable, "-m", "modelpack"]
    mlflow_cli = [str(BIN / "mlflow")]
    results: dict[str, float] = {}
    for tool in ("modelpack", "mlflow-uv", "mlflow-virtualenv"):
        cache = work / f"cache-{tool}"
        for run in ("cold", "warm"):
            env = _env_for(cache, work / f"mlflow-envs-{tool}-{run}")
            if tool == "modelpack":
                target = work / f"venv-{run}"
                cmd = [*modelpack_cli, "env", "create", str(ours), "--path", str(target), "--quiet"]
            else:
                manager = tool.split("-", 1)[1]
                cmd = [
                    *mlflow_cli,
                    "models",
                    "prepare-env",
                    "-m",
                    str(theirs),
                    "--env-manager",
                    manager,
                ]
            try:
                results[f"{tool}-{run}"] = _run(cmd, env)
            except RuntimeError as e:
                print(f"[{tool} {run}] {e}", file=sys.stderr)
                results[f"{tool}-{run}"] = float("nan")
    for run in ("cold", "warm"):
        ours_t = results[f"modelpack-{run}"]
        for manager in ("uv", "virtualenv"):
            theirs_t = results[f"mlflow-{manager}-{run}"]
            rows.append(
                (
                    f"restore, {run} cache (MLflow {manager} vs modelpack uv)",
                    f"{theirs_t:.1f} s",
                    f"{ours_t:.1f} s",
                    f"{theirs_t / ours_t:.1f}x",
                )
            )
    env_sizes = {"modelpack": _size(work / "venv-warm")}
    for manager in ("uv", "virtualenv"):
        envs = work / f"mlflow-envs-mlflow-{manager}-warm"
        if envs.exists():
            env_sizes[f"mlflow-{manager}"] = _size(envs)
    rows.append(
        (
            "restored environment",
            _mb(env_sizes.get("mlflow-uv", 0)),
            _mb(env_sizes["modelpack"]),
            "",
        )
    )
    data.update(restore_s=results, env_bytes=env_sizes)


def bundle(
    work: Path,
    ours: Path,
    rows: list[tuple[str, str, str, str]],
    data: dict[str, Any],
    *,
    offline_restore: bool,
) -> None:
    from modelpack.pack._bundle import PackOptions, pack, unpack

    cache = work / "wheels"
    t_pack, archive = _timed(
        lambda: pack(ours, work / "model.tar.gz", PackOptions(cache_dir=str(cache)))
    )
    t_pack_again, _ = _timed(
        lambda: pack(ours, work / "model2.tar.gz", PackOptions(cache_dir=str(cache)))
    )
    root = unpack(archive, work / "unpacked")
    rows.append(("pack archive (serve + predict extras)", "no equivalent", _mb(_size(archive)), ""))
    rows.append(
        ("pack time, first / cached wheels", "", f"{t_pack:.1f} s / {t_pack_again:.1f} s", "")
    )
    data.update(pack_s=t_pack, pack_cached_s=t_pack_again, archive_bytes=_size(archive))
    if offline_restore:
        env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, UV_CACHE_DIR=str(work / "cache-off"))
        t = _run(
            [
                sys.executable,
                "-m",
                "modelpack",
                "env",
                "create",
                str(root / "model"),
                "--path",
                str(work / "venv-offline"),
                "--offline",
                "--find-links",
                str(root / "wheelhouse"),
                "--quiet",
            ],
            env,
        )
        rows.append(
            ("restore offline from the bundle's wheelhouse (uv)", "not supported", f"{t:.1f} s", "")
        )
        data.update(offline_restore_s=t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the environment restores")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows: list[tuple[str, str, str, str]] = []
    data: dict[str, Any] = {"python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-env-") as tmp:
        work = Path(tmp)
        ours, theirs = inference(work, rows, data)
        bundle(work, ours, rows, data, offline_restore=not args.quick)
        if not args.quick:
            restore(work, ours, theirs, rows, data)
        shutil.rmtree(work, ignore_errors=True)
    print("| measure | MLflow | modelpack | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nMLflow inferred: {data['mlflow_requirements']}")
    print(f"modelpack inferred: {data['modelpack_requirements']}")
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
