"""Serving benchmark: ``modelpack serve`` side by side with ``mlflow models serve``, in one run.

The same load against every server: 1-row JSON requests (``dataframe_split`` by default,
``--format records`` for ``dataframe_records``) from 8 concurrent keep-alive connections for
10 s, after 1 s of the same load as a warm-up that is not counted, with ``wrk`` (``apt-get
install wrk``) or, when it is missing, the bounded Python load generator in
``benchmarks/serving/loadgen.py``. Every server is treated alike: it listens on 127.0.0.1 only,
writes its output to the same log file (never to a pipe nobody reads), answers one checked
request and the warm-up before it is timed, and is stopped, with all its processes, before the
next one starts, so no server competes with another for the CPUs. Rounds are interleaved (each
round runs every server once, in a rotated order) and the table shows medians over the rounds,
so a busy machine slows all servers alike and the ratios stay comparable; the load average
during each measurement is printed with it.

Servers, on two models:

* trivial: a LinearRegression on 3 double columns (fitted on a numpy array);
* taxi: the DictVectorizer + LinearRegression pipeline. modelpack bundles the DictVectorizer as
  the preprocessor; MLflow gets its closest equivalent, one sklearn Pipeline of a
  FunctionTransformer (DataFrame -> records), the DictVectorizer and the LinearRegression.

``modelpack serve`` with 1 and 2 workers, with and without batching, and with its default
access log on; ``mlflow models serve --env-manager local`` with 1 and 2 workers (uvicorn's
access log on, its default); the bare raw-work app of each model
(``benchmarks/serving/raw_app.py``: orjson in, the raw estimator's ``predict``, orjson out, no
checks at all) on uvicorn + uvloop + httptools with 1 worker, the reference the serving issue
sets (modelpack at least 80% of it); as the ceiling, a bare ASGI app that answers a fixed body
on the same stack; and the same bare app on plain uvicorn with the asyncio loop and 1 or 2
workers, which shows the lost-TCP_NODELAY trap (about 40 ms per keep-alive request) that
``modelpack serve`` avoids. Start-up is the time from starting the command to the
first 200 from ``/ping``. Server output goes to a log file in the work directory.

Run from the repository root::

    .venv/bin/python benchmarks/bench_serving.py              # 3 rounds of 10 s each: ~15 minutes
    .venv/bin/python benchmarks/bench_serving.py --quick      # 1 round of 3 s
    .venv/bin/python benchmarks/bench_serving.py --one-row    # the 1-row setups of the issue
    .venv/bin/python benchmarks/bench_serving.py --only taxi  # setups whose label has "taxi"
    .venv/bin/python benchmarks/bench_serving.py --json /tmp/serving.json
    .venv/bin/python benchmarks/bench_serving.py --tensors    # JSON V2 vs binary V2 vs gRPC,
                                                              # 1,000 rows x 30 columns
    .venv/bin/python benchmarks/bench_serving.py --many-models   # 20 models in one server
    .venv/bin/python benchmarks/bench_serving.py --alias-move    # an alias moved under wrk load
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ZONES = ["43_151", "1_2", "7_9", "161_236", "132_265"]
RECORDS: dict[str, list[dict[str, Any]]] = {
    "trivial": [{"a": 0.1, "b": -1.2, "c": 0.7}],
    "taxi": [{"PU_DO": "43_151", "trip_distance": 1.8}],
}


def body_for(model: str, fmt: str) -> dict[str, Any]:
    """The request every server gets for ``model``: the same row, split or as records."""
    records = RECORDS[model]
    if fmt == "records":
        return {"dataframe_records": records}
    columns = list(records[0])
    return {"dataframe_split": {"columns": columns, "data": [list(r.values()) for r in records]}}


START_TIMEOUT = 180.0


def frame_to_records(frame: Any) -> list[dict[str, Any]]:
    """The first step of MLflow's taxi pipeline: what modelpack's preprocessor handling does."""
    return frame.to_dict(orient="records")  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ models
def build_models(workdir: Path) -> dict[str, Any]:
    """Save both models with both tools; returns in-process predictions to check answers."""
    import pickle

    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    import modelpack

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 3))
    frame3 = pd.DataFrame(x, columns=["a", "b", "c"])
    lr3 = LinearRegression().fit(x, x @ [1.0, 2.0, 3.0] + 0.5)
    modelpack.save_model(lr3, workdir / "modelpack-trivial", input_example=frame3.head(3))
    mlflow.sklearn.save_model(
        lr3, str(workdir / "mlflow-trivial"), signature=infer_signature(frame3, lr3.predict(x))
    )
    n = 1000
    taxi = pd.DataFrame({"PU_DO": rng.choice(ZONES, n), "trip_distance": rng.uniform(0.5, 12, n)})
    y = 2.0 + 3.1 * taxi["trip_distance"].to_numpy() + rng.normal(0, 0.5, n)
    records = taxi.to_dict(orient="records")
    dv = DictVectorizer().fit(records)
    lr = LinearRegression().fit(dv.transform(records), y)
    modelpack.save_model(
        lr, workdir / "modelpack-taxi", preprocessor=dv, input_example=taxi.head(3)
    )
    pipe = make_pipeline(
        FunctionTransformer(frame_to_records), DictVectorizer(), LinearRegression()
    )
    pipe.fit(taxi, y)
    mlflow.sklearn.save_model(
        pipe,
        str(workdir / "mlflow-taxi"),
        input_example=taxi.head(3),
        serialization_format="cloudpickle",
    )
    # the bare raw-work apps' models: the same fitted objects, pickled for this run only
    (workdir / "raw-trivial.pkl").write_bytes(pickle.dumps(("array", lr3)))
    (workdir / "raw-taxi.pkl").write_bytes(pickle.dumps(("records", (dv, lr))))
    row3 = pd.DataFrame(RECORDS["trivial"])
    row_taxi = RECORDS["taxi"]
    return {
        "trivial": float(lr3.predict(row3.to_numpy())[0]),
        "taxi": float(lr.predict(dv.transform(row_taxi))[0]),
    }


# ----------------------------------------------------------------------------- servers
@dataclass
class Setup:
    label: str
    model: str
    tool: str  # modelpack | mlflow | raw | ceiling | uvicorn-asyncio
    workers: int = 1
    extra: list[str] = field(default_factory=list)

    @property
    def answers(self) -> bool:
        """True for the servers whose predictions are checked and shown per model."""
        return self.tool in ("modelpack", "mlflow", "raw")

    def env(self, workdir: Path) -> dict[str, str]:
        return {"RAW_MODEL": str(workdir / f"raw-{self.model}.pkl")} if self.tool == "raw" else {}

    def command(self, workdir: Path, port: int) -> list[str]:
        if self.tool in ("ceiling", "uvicorn-asyncio", "raw"):
            loop = "asyncio" if self.tool == "uvicorn-asyncio" else "uvloop"
            app = "raw_app:app" if self.tool == "raw" else "bare_app:app"
            return [
                sys.executable, "-m", "uvicorn", app, "--app-dir", str(HERE / "serving"),
                "--host", "127.0.0.1", "--port", str(port), "--loop", loop, "--http", "httptools",
                "--no-access-log", "--log-level", "warning", "--workers", str(self.workers),
            ]  # fmt: skip
        if self.tool == "mlflow":
            return [
                str(BIN / "mlflow"), "models", "serve", "-m", str(workdir / f"mlflow-{self.model}"),
                "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(self.workers),
            ]  # fmt: skip
        return [
            sys.executable, "-m", "modelpack", "serve", str(workdir / f"modelpack-{self.model}"),
            "--port", str(port), "--workers", str(self.workers), *self.extra,
        ]  # fmt: skip


RAW = "bare raw-work app (orjson, raw predict)"
SETUPS = [
    Setup("bare ASGI, fixed body (ceiling)", "trivial", "ceiling"),
    Setup(RAW, "trivial", "raw"),
    Setup(RAW, "taxi", "raw"),
    Setup("bare ASGI on plain uvicorn --loop asyncio", "trivial", "uvicorn-asyncio"),
    Setup("bare ASGI on plain uvicorn --loop asyncio --workers 2", "trivial", "uvicorn-asyncio", 2),
    Setup("modelpack serve", "trivial", "modelpack"),
    Setup("modelpack serve --workers 2", "trivial", "modelpack", 2),
    Setup("modelpack serve --no-batching", "trivial", "modelpack", 1, ["--no-batching"]),
    Setup(
        "modelpack serve --no-batching --workers 2", "trivial", "modelpack", 2, ["--no-batching"]
    ),
    Setup("mlflow models serve", "trivial", "mlflow"),
    Setup("mlflow models serve -w 2", "trivial", "mlflow", 2),
    Setup("modelpack serve", "taxi", "modelpack"),
    Setup("modelpack serve --workers 2", "taxi", "modelpack", 2),
    Setup("modelpack serve --no-batching", "taxi", "modelpack", 1, ["--no-batching"]),
    Setup("modelpack serve --no-batching --workers 2", "taxi", "modelpack", 2, ["--no-batching"]),
    Setup("mlflow models serve", "taxi", "mlflow"),
]
#: the setups of the serving issue's 1-row targets (``--one-row``)
ONE_ROW = {
    ("bare ASGI, fixed body (ceiling)", "trivial"),
    (RAW, "trivial"),
    (RAW, "taxi"),
    ("modelpack serve", "trivial"),
    ("modelpack serve --workers 2", "trivial"),
    ("mlflow models serve", "trivial"),
    ("modelpack serve", "taxi"),
    ("modelpack serve --workers 2", "taxi"),
    ("mlflow models serve", "taxi"),
}

# What any server of a scikit-learn model pays before it can answer: a fresh interpreter
# importing the library the model needs (and numpy, scipy and pandas with it).
FLOOR = "import sklearn.linear_model, sklearn.feature_extraction"


def import_floor() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR], check=True)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def start(
    setup: Setup, workdir: Path, port: int, log: Path
) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server in its own process group; returns it and the seconds to a 200 /ping."""
    env = {
        **os.environ,
        **setup.env(workdir),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            setup.command(workdir, port), stdout=out, stderr=out, env=env, start_new_session=True
        )
    while time.perf_counter() - started < START_TIMEOUT:
        if proc.poll() is not None:
            raise RuntimeError(f"{setup.label} exited with {proc.returncode}; see {log}")
        try:
            if call(port, "GET", "/ping")[0] == 200:
                return proc, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.01)
    stop(proc)
    raise RuntimeError(f"{setup.label} was not ready after {START_TIMEOUT} s; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (it was started as its own session)."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            time.sleep(0.5)  # let the workers of a group go too
            return
        except subprocess.TimeoutExpired:
            continue


# -------------------------------------------------------------------------------- load
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def load_wrk(
    port: int, body: bytes, connections: int, duration: float, workdir: Path
) -> dict[str, float]:
    script = workdir / "post.lua"
    if duration < 1:
        duration = 1.0  # wrk counts whole seconds
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/invocations"],
        capture_output=True, text=True, check=True, timeout=duration + 60,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": float(bad.group(1)) if bad else 0.0}


def load_python(
    port: int, body: bytes, connections: int, duration: float, workdir: Path
) -> dict[str, float]:
    sys.path.insert(0, str(HERE / "serving"))
    from loadgen import run_load  # type: ignore[import-not-found]

    res = run_load(port, "/invocations", body, connections=connections, duration=duration)
    return {
        "rps": res.rps,
        "p50": res.percentile(50) * 1e3,
        "p99": res.percentile(99) * 1e3,
        "errors": float(res.errors),
    }


# ------------------------------------------------------------------------------- runner
def measure(
    setup: Setup, workdir: Path, expected: float, args: argparse.Namespace
) -> dict[str, float]:
    port = free_port()
    proc, startup = start(setup, workdir, port, workdir / "servers.log")
    try:
        body = json.dumps(body_for(setup.model, args.format)).encode()
        status, answer = call(port, "POST", "/invocations", body)
        if setup.answers:
            got = json.loads(answer)["predictions"][0]
            if status != 200 or abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
                raise RuntimeError(f"{setup.label}: answered {status} {answer[:200]!r}")
        run = load_wrk if shutil.which("wrk") and not args.python_load else load_python
        if args.warmup > 0:
            run(port, body, args.connections, args.warmup, workdir)
        load_before = os.getloadavg()[0]
        result = run(port, body, args.connections, args.duration, workdir)
        load = (load_before + os.getloadavg()[0]) / 2
    finally:
        stop(proc)
    return {**result, "startup": startup, "load": load}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator")
    parser.add_argument("--only", help="run only setups whose label or model contains this")
    parser.add_argument(
        "--one-row",
        action="store_true",
        help="only the setups of the 1-row targets: ceiling, raw-work apps, modelpack, MLflow",
    )
    parser.add_argument(
        "--format",
        choices=("split", "records"),
        default="split",
        help="the request body: dataframe_split (default) or dataframe_records",
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of uncounted load before each run"
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument(
        "--tensors",
        action="store_true",
        help="instead: JSON V2, binary V2 and gRPC at 1,000 rows x 30 float columns",
    )
    parser.add_argument(
        "--many-models",
        action="store_true",
        help="instead: 20 models in one server against each alone (memory, 1-row latency)",
    )
    parser.add_argument(
        "--alias-move",
        action="store_true",
        help="instead: wrk load while the served alias moves (non-2xx count, switch time)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    if args.many_models or args.alias_move:
        return run_many_models_mode(args)
    if args.tensors:
        return tensor_protocols(args)
    setups = [s for s in SETUPS if not args.only or args.only in f"{s.label} {s.model}"]
    if args.one_row:
        setups = [s for s in setups if (s.label, s.model) in ONE_ROW]
    workdir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        expected = build_models(workdir)
        runs: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(setups))}
        floors: list[float] = []
        for r in range(args.rounds):
            floors.append(import_floor())
            order = list(range(len(setups)))
            order = order[r % len(order) :] + order[: r % len(order)]
            for i in order:
                res = measure(setups[i], workdir, expected[setups[i].model], args)
                runs[i].append(res)
                print(f"round {r + 1}: {setups[i].label} [{setups[i].model}]: {res['rps']:.0f} req/s, "
                      f"p50 {res['p50']:.2f} ms, p99 {res['p99']:.2f} ms, start {res['startup']:.2f} s, "
                      f"load {res['load']:.1f}", file=sys.stderr, flush=True)  # fmt: skip
        report(setups, runs, args, statistics.median(floors))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_many_models_mode(args: argparse.Namespace) -> int:
    """``--many-models`` and ``--alias-move`` (in ``benchmarks/serving/many_models.py``)."""
    sys.path.insert(0, str(HERE / "serving"))
    from many_models import main as many_main  # type: ignore[import-not-found]

    mode = "many-models" if args.many_models else "alias-move"
    return int(many_main(mode, rounds=args.rounds, duration=args.duration, json_path=args.json))


def report(
    setups: list[Setup],
    runs: dict[int, list[dict[str, float]]],
    args: argparse.Namespace,
    floor: float,
) -> None:
    med = {i: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for i, rs in runs.items()}
    base = {
        s.model: med[i]["rps"]
        for i, s in enumerate(setups)
        if s.tool == "mlflow" and s.workers == 1
    }
    raw_rps = {s.model: med[i]["rps"] for i, s in enumerate(setups) if s.tool == "raw"}
    wrk = shutil.which("wrk") and not args.python_load
    loadgen = f"wrk -t2 -c{args.connections}" if wrk else "Python load generator"
    loads = [r["load"] for rs in runs.values() for r in rs]
    print(f"\n{args.rounds} interleaved round(s) of {args.duration:g} s after {args.warmup:g} s of "
          f"warm-up, {args.connections} keep-alive connections ({loadgen}), 1-row "
          f"dataframe_{args.format} requests; medians. {platform.platform()}, {os.cpu_count()} "
          f"CPUs, Python {platform.python_version()}. 1-minute load average during the "
          f"measurements: median {statistics.median(loads):.1f} (range {min(loads):.1f}-"
          f"{max(loads):.1f}).\n")  # fmt: skip
    print("| server | model | req/s | p50 ms | p99 ms | start-up s | vs raw-work app | "
          "vs MLflow (1 worker) |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for i, s in enumerate(setups):
        m = med[i]
        ours = s.tool in ("modelpack", "mlflow")
        ratio = f"{m['rps'] / base[s.model]:.1f}x" if s.model in base and ours else ""
        vs_raw = f"{m['rps'] / raw_rps[s.model]:.0%}" if s.model in raw_rps and s.answers else ""
        errors = f" ({m['errors']:.0f} errors)" if m["errors"] else ""
        print(f"| {s.label} | {s.model if s.answers else '-'} | {m['rps']:,.0f}{errors} | "
              f"{m['p50']:.2f} | {m['p99']:.2f} | {m['startup']:.2f} | {vs_raw} | {ratio} |")  # fmt: skip
    print(f"\nStart-up floor: a fresh `python -c \"{FLOOR}\"` takes {floor:.2f} s here (median "
          "of one per round); no server of these models can be ready sooner.")  # fmt: skip
    if args.json:
        raw: dict[str, Any] = {s.label + " / " + s.model: runs[i] for i, s in enumerate(setups)}
        raw["import floor s"] = floor
        args.json.write_text(json.dumps(raw, indent=1))


# ------------------------------------------------------------- tensors: JSON, binary, gRPC
# ``--tensors``: one ``modelpack serve --grpc-port`` of a LinearRegression on a (-1, 30) float64
# tensor, 1,000-row requests sent three ways to the same process: V2 JSON, V2 with the binary
# tensor extension, and gRPC with raw_input_contents. Every client is Python, in this process,
# on asyncio (raw keep-alive sockets for REST, grpc.aio for gRPC), with the same number of
# requests in flight, so the protocols are compared with equal client costs.
TENSOR_ROWS, TENSOR_COLUMNS = 1000, 30


def tensor_bodies(x: Any) -> dict[str, tuple[bytes, dict[str, str]]]:
    """The V2 REST requests for ``x``: (body, extra headers) for JSON and binary."""
    data = {"name": "x", "shape": list(x.shape), "datatype": "FP64"}
    as_json = json.dumps({"inputs": [{**data, "data": x.ravel().tolist()}]}).encode()
    raw = x.astype("<f8").tobytes()
    head = json.dumps(
        {
            "inputs": [{**data, "parameters": {"binary_data_size": len(raw)}}],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    binary_headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(head)),
    }
    return {
        "JSON V2": (as_json, {"Content-Type": "application/json"}),
        "binary V2": (head + raw, binary_headers),
    }


def _decode_v2(answer: bytes, header_length: str | None) -> Any:
    import numpy as np

    if header_length is None:
        return np.array(json.loads(answer)["outputs"][0]["data"])
    return np.frombuffer(answer[int(header_length) :], dtype="<f8")


def check_tensor_answers(port: int, grpc_port: int, x: Any, expected: Any) -> None:
    """Each protocol's answer equals in-process predict before it is timed."""
    import grpc
    import numpy as np

    from modelpack.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    for label, (body, headers) in tensor_bodies(x).items():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/v2/models/m/infer", body=body, headers=headers)
            resp = conn.getresponse()
            got = _decode_v2(resp.read(), resp.getheader("Inference-Header-Content-Length"))
        finally:
            conn.close()
        if resp.status != 200 or not np.allclose(got, expected):
            raise RuntimeError(f"{label}: answered {resp.status} with other predictions")
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        answer = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(grpc_request(x))
    if not np.allclose(np.frombuffer(answer.raw_output_contents[0], dtype="<f8"), expected):
        raise RuntimeError("gRPC: other predictions")


def grpc_request(x: Any) -> Any:
    from modelpack.serving.proto import grpc_predict_v2_pb2 as pb

    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP64", shape=x.shape)
    return pb.ModelInferRequest(
        model_name="m", inputs=[tensor], raw_input_contents=[x.astype("<f8").tobytes()]
    )


def load_rest(port: int, body: bytes, headers: dict[str, str], args: argparse.Namespace) -> Any:
    import asyncio

    sys.path.insert(0, str(HERE / "serving"))
    from loadgen import LoadResult, _client  # type: ignore[import-not-found]

    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST /v2/models/m/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    result = LoadResult(0, 0, args.duration, [])

    async def run() -> None:
        deadline = time.perf_counter() + args.duration
        started = time.perf_counter()
        clients = (_client(port, request, deadline, result) for _ in range(args.connections))
        await asyncio.gather(*clients)
        result.seconds = time.perf_counter() - started

    asyncio.run(run())
    return result


def load_grpc(grpc_port: int, x: Any, args: argparse.Namespace) -> Any:
    import asyncio

    import grpc

    sys.path.insert(0, str(HERE / "serving"))
    from loadgen import LoadResult

    from modelpack.serving.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    request = grpc_request(x)
    result = LoadResult(0, 0, args.duration, [])

    async def client(stub: Any, deadline: float) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                await stub.ModelInfer(request)
            except grpc.aio.AioRpcError:
                result.errors += 1
            result.latencies.append(time.perf_counter() - start)
            result.requests += 1

    async def run() -> None:
        options = [("grpc.max_receive_message_length", -1)]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}", options=options) as ch:
            stub = pb_grpc.GRPCInferenceServiceStub(ch)
            deadline = time.perf_counter() + args.duration
            started = time.perf_counter()
            await asyncio.gather(*(client(stub, deadline) for _ in range(args.connections)))
            result.seconds = time.perf_counter() - started

    asyncio.run(run())
    return result


def tensor_protocols(args: argparse.Namespace) -> int:
    """The ``--tensors`` mode: rows/s of JSON V2, binary V2 and gRPC on one server."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import modelpack

    workdir = Path(tempfile.mkdtemp(prefix="bench-tensors-"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(TENSOR_ROWS, TENSOR_COLUMNS))
    lr = LinearRegression().fit(x, x @ rng.normal(size=TENSOR_COLUMNS))
    modelpack.save_model(lr, workdir / "modelpack-tensor", input_example=x[:2])
    expected = lr.predict(x)
    port, grpc_port = free_port(), free_port()
    setup = Setup("modelpack serve --grpc-port", "tensor", "modelpack", 1,
                  ["--name", "m", "--grpc-port", str(grpc_port), "--no-access-log"])  # fmt: skip
    bodies = tensor_bodies(x)
    labels = [*bodies, "gRPC"]
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in labels}
    proc, _ = start(setup, workdir, port, workdir / "servers.log")
    try:
        check_tensor_answers(port, grpc_port, x, expected)
        for r in range(args.rounds):
            for label in labels[r % 3 :] + labels[: r % 3]:
                if label == "gRPC":
                    res = load_grpc(grpc_port, x, args)
                else:
                    res = load_rest(port, *bodies[label], args)
                row = {"rps": res.rps, "p50": res.percentile(50) * 1e3,
                       "p99": res.percentile(99) * 1e3, "errors": float(res.errors)}  # fmt: skip
                runs[label].append(row)
                print(f"round {r + 1}: {label}: {row['rps'] * TENSOR_ROWS:,.0f} rows/s, "
                      f"p50 {row['p50']:.2f} ms", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    med = {k: {m: statistics.median(r[m] for r in rs) for m in rs[0]} for k, rs in runs.items()}
    base = med["JSON V2"]["rps"]
    print(
        f"\n{args.rounds} interleaved round(s) of {args.duration:g} s, {args.connections} "
        f"requests in flight (Python asyncio clients), {TENSOR_ROWS:,} rows x "
        f"{TENSOR_COLUMNS} float64 columns per request, 1 worker; medians. "
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}.\n"
    )
    print("| protocol | req/s | rows/s | p50 ms | p99 ms | rows/s vs JSON V2 |")
    print("|---|---:|---:|---:|---:|---:|")
    for label in labels:
        m = med[label]
        errors = f" ({m['errors']:.0f} errors)" if m["errors"] else ""
        print(f"| {label} | {m['rps']:,.1f}{errors} | {m['rps'] * TENSOR_ROWS:,.0f} | "
              f"{m['p50']:.2f} | {m['p99']:.2f} | {m['rps'] / base:.1f}x |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
