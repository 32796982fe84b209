"""The team store: ``modelpack server`` against ``mlflow server``, same PostgreSQL, same S3.

One run starts a throwaway PostgreSQL cluster and one moto S3 server on 127.0.0.1 (the helpers
of ``tests/_services.py``), then both servers with the same worker count, each on a database
and a bucket of its own, each writing its log to a file in the work folder:

* ``modelpack server --backend-store-uri postgresql://... --artifacts-destination s3://...``
* ``mlflow server --backend-store-uri postgresql+psycopg://... --artifacts-destination s3://...
  --serve-artifacts``

Each client talks to its own tool's server: modelpack's (``set_store_uri("http://...")``, the
same as ``MODELPACK_STORE_URI``) to ``modelpack server``, MLflow's to ``mlflow server``.

Cases (``--case``, repeatable; default: all):

* ``log``: ``--clients`` processes (default 8) each make runs in a loop for ``--seconds``: start
  a run, log 10 params and 100 metrics, end it. Three ways of writing it, all measured: one
  call per value (``log_param`` x 10, ``log_metric`` x 100, the training-loop style), the
  fluent batch calls (``log_params(dict)`` + ``log_metrics(dict)``, one request each on both
  tools), and one ``MlflowClient().log_batch(run_id, metrics=..., params=...)`` (one request).
  Runs/s summed over the clients; target: modelpack at least 5x MLflow.
* ``search``: ``--runs`` finished runs (two metrics, two params, a tag each) in one experiment,
  then ``MlflowClient().search_runs`` through the server with ``metrics.rmse < 5``, ordered by
  ``metrics.rmse ASC``, first 100 rows. Target: at least 20x faster than MLflow and under
  100 ms. Filling goes through each tool's store interface, bypassing the servers: modelpack's
  ``get_store(<postgresql URI>)``, MLflow's ``SqlAlchemyStore`` (``create_run`` + ``log_batch``
  + ``update_run_info`` per run, the rows their servers write). The first ``--api-runs`` runs
  are made so on both sides; the rest are copies of the last of those, row for row in every
  table holding a run id, with their own id, name and values, sent with PostgreSQL's COPY:
  the same rows, made faster. ``ANALYZE`` follows on both databases.
* ``model``: the taxi model (DictVectorizer + LinearRegression, ``bench_core.build_models``)
  logged, registered and loaded back by ``models:/`` with one predict, through the server with
  S3 artifacts: ``modelpack.sklearn.log_model(lr, preprocessor=dv, registered_model_name=...)``
  + ``modelpack.load_model``; ``mlflow.sklearn.log_model(pipeline, registered_model_name=...)``
  + ``mlflow.pyfunc.load_model`` (its defaults, and with ``pip_requirements`` given, which
  skips its requirement inference). Interleaved rounds after a warm-up, medians. Target:
  at least 10x faster than MLflow (defaults).
* ``artifact``: a file of ``--artifact-mb`` up and down through modelpack's client and its
  server's artifact proxy (the path a team client takes: it holds no S3 credentials), and
  through the raw boto3 client straight to the same moto endpoint, with its default transfer
  settings (parallel parts and ranges) and as one streamed request (moto copies the whole
  object for every ranged GET, which makes the defaults slow at downloads here; the ratio is
  taken against the faster of the two); each transfer in a fresh
  child process, which reports its own peak RSS (``VmHWM``: ``resource.getrusage``'s
  ``ru_maxrss`` would report the forking parent's peak on Linux, since it survives ``exec``).
  Target: at least 80% of the raw client's throughput, client memory flat (about the same peak
  as for a 16 MiB file).

Nothing here asserts a time. Run from the repository root::

    .venv/bin/python benchmarks/bench_store.py --quick       # a smoke run, under 2 minutes
    .venv/bin/python benchmarks/bench_store.py               # 100,000 runs, 1 GiB artifact
    .venv/bin/python benchmarks/bench_store.py --case search --runs 20000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from tests._services import (  # noqa: E402 - the repository root is put on the path above
    Postgres,
    S3Server,
    free_port,
    start_postgres,
    start_s3,
)

CASES = ("log", "search", "model", "artifact")
TOOLS = ("modelpack", "MLflow")
HOWS = {
    "calls": "one call per value",
    "batch": "log_params + log_metrics",
    "log_batch": "one MlflowClient().log_batch",
}
FILTER = "metrics.rmse < 5"
ORDER = ["metrics.rmse ASC"]
PAGE = 100
_MIB = 1 << 20
SIDES = ("modelpack", "raw", "raw-stream")  # the artifact case's clients


@dataclass
class Server:
    tool: str
    url: str
    database: str  # the store URI the server was given
    bucket: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class Row:
    """One line of the results table."""

    what: str
    modelpack: str
    mlflow: str
    ratio: float | None
    target: str = ""
    met: bool | None = None


# ------------------------------------------------------------------------------ services
def start_server(tool: str, pg: Postgres, s3: S3Server, work: Path, workers: int) -> Server:
    """Start one tool's server on a new database and bucket; its log goes to a file."""
    db = pg.create_database(f"{tool.lower()}_store")
    bucket = s3.create_bucket(f"{tool.lower()}-artifacts")
    port = free_port()
    log = work / f"{tool.lower()}-server.log"
    common = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if tool == "modelpack":
        store = db
        cmd = [
            sys.executable,
            "-m",
            "modelpack",
            "server",
            "--backend-store-uri",
            store,
            "--artifacts-destination",
            f"s3://{bucket}/artifacts",
            *common,
        ]
    else:
        store = db.replace("postgresql://", "postgresql+psycopg://", 1)
        cmd = [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--backend-store-uri",
            store,
            "--artifacts-destination",
            f"s3://{bucket}/artifacts",
            "--serve-artifacts",
            *common,
        ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPACK_", "MLFLOW_"))}
    env.update(s3.env(), PYTHONPATH=str(ROOT))
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work, env=env)
    server = Server(tool, f"http://127.0.0.1:{port}", store, bucket, proc, log)
    _wait_healthy(server)
    return server


def _wait_healthy(server: Server, timeout: float = 300.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"{server.tool} server exited; its log: {server.log}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{server.tool} server not healthy in {timeout:.0f} s; log: {server.log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def client_env(s3: S3Server, work: Path) -> dict[str, str]:
    """A child's environment: no store settings inherited, a cache of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPACK_", "MLFLOW_"))}
    env.update(s3.env(), PYTHONPATH=str(ROOT), MODELPACK_CACHE_DIR=str(work / "cache"))
    return env


# ------------------------------------------------------------------------------ case: log
_LOG_CHILD = r"""
import json, sys, time
tool, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if tool == "modelpack":
    import modelpack as mlflow
    from modelpack.entities import Metric, Param
    mlflow.set_store_uri(url)
else:
    import mlflow
    from mlflow.entities import Metric, Param
    mlflow.set_tracking_uri(url)
client = mlflow.MlflowClient()
params = {f"param_{k}": str(k) for k in range(10)}
metrics = {f"metric_{k}": k / 7 for k in range(100)}

def one_run(how):
    with mlflow.start_run() as run:
        if how == "batch":
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
        elif how == "log_batch":
            now = int(time.time() * 1000)
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()],
            )
        else:
            for key, value in params.items():
                mlflow.log_param(key, value)
            for key, value in metrics.items():
                mlflow.log_metric(key, value)

for how in sys.argv[4].split(","):  # warm-up: imports done, connection open, first pages read
    mlflow.set_experiment(f"load-{how}")
    one_run(how)
print("ready", flush=True)
for line in sys.stdin:  # one way of logging per line, timed for `seconds`
    how = line.strip()
    mlflow.set_experiment(f"load-{how}")
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        one_run(how)
        count += 1
    print(json.dumps({"runs": count, "seconds": time.perf_counter() - start}), flush=True)
"""


def spawn_clients(
    server: Server, clients: int, seconds: float, env: dict, work: Path
) -> list[subprocess.Popen[str]]:
    """``clients`` processes logging to ``server``, warmed up and waiting for a command."""
    procs = []
    for i in range(clients):
        err = open(work / f"client-{server.tool}-{i}.err", "ab")  # noqa: SIM115 - child's
        cmd = [
            sys.executable,
            "-c",
            _LOG_CHILD,
            server.tool,
            server.url,
            str(seconds),
            ",".join(HOWS),
        ]
        procs.append(
            subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, text=True
            )
        )
        err.close()
    for proc in procs:
        _read_until(proc, lambda line: line.strip() == "ready", server.tool)
    return procs


def load_round(procs: list[subprocess.Popen[str]], how: str, tool: str) -> float:
    """Runs/s of all clients making runs at once, one way of logging, for their seconds."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{how}\n")
        proc.stdin.flush()
    total = 0.0
    for proc in procs:
        result = json.loads(_read_until(proc, lambda line: line.startswith("{"), tool))
        total += result["runs"] / result["seconds"]
    return total


def _read_until(proc: subprocess.Popen[str], done: Callable[[str], bool], tool: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if done(line):
            return line
    raise SystemExit(f"a {tool} client exited early (status {proc.wait()}); see its .err file")


def case_log(
    servers: dict[str, Server], args: argparse.Namespace, env: dict, work: Path
) -> list[Row]:
    # the experiments exist before eight clients look them up at once
    for how in HOWS:
        _create_experiment(servers, f"load-{how}")
    clients = {t: spawn_clients(servers[t], args.clients, args.seconds, env, work) for t in TOOLS}
    rates: dict[tuple[str, str], list[float]] = {}
    try:
        for r in range(args.rounds):
            for how in HOWS:
                for tool in TOOLS if r % 2 == 0 else TOOLS[::-1]:
                    rate = load_round(clients[tool], how, tool)
                    rates.setdefault((how, tool), []).append(rate)
                    print(f"log/{how} round {r + 1}: {tool} {rate:.1f} runs/s", file=sys.stderr)
    finally:
        for procs in clients.values():
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(60)
    rows = []
    for how, label in HOWS.items():
        mp, ml = (statistics.median(rates[(how, t)]) for t in TOOLS)
        ratio = mp / ml
        rows.append(
            Row(
                f"run + 10 params + 100 metrics, {args.clients} clients ({label})",
                f"{mp:.1f} runs/s",
                f"{ml:.1f} runs/s",
                ratio,
                ">= 5x",
                ratio >= 5,
            )
        )
    return rows


def _create_experiment(servers: dict[str, Server], name: str) -> dict[str, str]:
    """The experiment ``name`` on both servers, made through each tool's client."""
    import mlflow.tracking

    import modelpack.tracking

    ids = {}
    for tool, module in (("modelpack", modelpack.tracking), ("MLflow", mlflow.tracking)):
        client = module.MlflowClient(tracking_uri=servers[tool].url)
        found = client.get_experiment_by_name(name)
        ids[tool] = found.experiment_id if found else client.create_experiment(name)
    return ids


# --------------------------------------------------------------------------- case: search
def run_values(i: int) -> dict[str, Any]:
    """Run ``i``'s name, metrics, params and tag: the same for both tools."""
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


def fill_modelpack(store_uri: str, experiment_id: str, count: int) -> tuple[str, float]:
    """``count`` runs through modelpack's store interface; (last run id, seconds)."""
    from modelpack._store import Metric, NewRun, get_store, now_ms

    store = get_store(store_uri)
    t0 = time.perf_counter()
    run_id = ""
    for i in range(count):
        values, now = run_values(i), now_ms()
        new = NewRun(experiment_id, values["name"], "bench", now, tags=values["tags"])
        run_id = store.create_run(new).info.run_id
        metrics = [Metric(k, v, now, 0) for k, v in values["metrics"].items()]
        store.log_batch(run_id, params=values["params"], metrics=metrics)
        store.update_run_info(run_id, status="FINISHED", end_time=now_ms())
    return run_id, time.perf_counter() - t0


def fill_mlflow(store_uri: str, experiment_id: str, count: int) -> tuple[str, float]:
    """``count`` runs through MLflow's ``SqlAlchemyStore``; (last run id, seconds)."""
    from mlflow.entities import Metric, Param, RunStatus, RunTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    experiment = SqlAlchemyStore(store_uri, "s3://unused").get_experiment(experiment_id)
    store = SqlAlchemyStore(store_uri, experiment.artifact_location)
    t0 = time.perf_counter()
    run_id = ""
    for i in range(count):
        values, now = run_values(i), int(time.time() * 1000)
        tags = [RunTag(k, v) for k, v in values["tags"].items()]
        run_id = store.create_run(experiment_id, "bench", now, tags, values["name"]).info.run_id
        store.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in values["metrics"].items()],
            params=[Param(k, v) for k, v in values["params"].items()],
            tags=[],
        )
        store.update_run_info(run_id, RunStatus.FINISHED, int(time.time() * 1000), None)
    return run_id, time.perf_counter() - t0


def copy_runs(database: str, id_column: str, template: str, first: int, count: int) -> None:
    """Runs ``first`` .. ``first + count - 1`` as copies of ``template``'s rows, via COPY.

    Every table with an ``id_column`` gets the template's rows with the new run's id (also
    inside strings such as artifact locations), its name, and its values for the keys of
    :func:`run_values`; identity columns are left to the database.
    """
    import psycopg

    with psycopg.connect(database) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_name = %s ORDER BY table_name <> 'runs', table_name",
                (id_column,),
            )
        ]
        rows = {t: _template_rows(conn, t, id_column, template) for t in tables}
        new_ids = [uuid.uuid4().hex for _ in range(count)]
        for table, template_rows in rows.items():
            if not template_rows:
                continue
            columns = list(template_rows[0])
            names = ", ".join(f'"{c}"' for c in columns)
            with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for i, new_id in zip(range(first, first + count), new_ids, strict=True):
                    values = run_values(i)
                    by_key = {**values["metrics"], **values["params"], **values["tags"]}
                    by_key["mlflow.runName"] = values["name"]
                    for row in template_rows:
                        copy.write_row(_copied(row, template, new_id, values, by_key))


def _template_rows(conn: Any, table: str, id_column: str, template: str) -> list[dict[str, Any]]:
    identity = {
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s AND (is_identity = 'YES' OR column_default LIKE 'nextval%%')",
            (table,),
        )
    }
    cur = conn.execute(f'SELECT * FROM {table} WHERE "{id_column}" = %s', (template,))
    names = [d.name for d in cur.description]
    return [
        {n: v for n, v in zip(names, row, strict=True) if n not in identity}
        for row in cur.fetchall()
    ]


def _copied(row: dict[str, Any], template: str, new_id: str, values: dict, by_key: dict) -> list:
    out = dict(row)
    for column, value in out.items():
        if isinstance(value, str) and template in value:
            out[column] = value.replace(template, new_id)
    if "key" in out and "value" in out and out["key"] in by_key:
        out["value"] = by_key[out["key"]]
    if "start_time" in out:  # the runs table: MLflow's name, modelpack's run_name
        for column in ("name", "run_name"):
            if column in out:
                out[column] = values["name"]
    return list(out.values())


def fill(
    servers: dict[str, Server], runs: int, api_runs: int
) -> tuple[dict[str, str], dict[str, float]]:
    """Both stores get ``runs`` finished runs in an experiment ``search``; (ids, s per API run)."""
    import psycopg

    ids = _create_experiment(servers, "search")
    per_run = {}
    through_api = min(runs, api_runs)
    for tool, filler, id_column in (
        ("modelpack", fill_modelpack, "run_id"),
        ("MLflow", fill_mlflow, "run_uuid"),
    ):
        database = servers[tool].database
        last, seconds = filler(database, ids[tool], through_api)
        per_run[tool] = seconds / through_api
        print(
            f"search: {tool} made {through_api:,} runs through its store API "
            f"({per_run[tool] * 1000:.1f} ms each)",
            file=sys.stderr,
        )
        if through_api < runs:
            t0 = time.perf_counter()
            plain = database.replace("postgresql+psycopg://", "postgresql://", 1)
            copy_runs(plain, id_column, last, through_api, runs - through_api)
            print(
                f"search: {tool} copied {runs - through_api:,} runs in "
                f"{time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
            )
        with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("ANALYZE")
    return ids, per_run


def case_search(servers: dict[str, Server], args: argparse.Namespace) -> list[Row]:
    import mlflow.tracking

    import modelpack.tracking

    ids, per_run = fill(servers, args.runs, args.api_runs)
    clients: dict[str, Any] = {
        "modelpack": modelpack.tracking.MlflowClient(tracking_uri=servers["modelpack"].url),
        "MLflow": mlflow.tracking.MlflowClient(tracking_uri=servers["MLflow"].url),
    }
    times: dict[str, list[float]] = {t: [] for t in TOOLS}
    found: dict[str, list[float]] = {}
    for r in range(args.repeat + 1):  # the first round is a warm-up
        for tool in TOOLS if r % 2 == 0 else TOOLS[::-1]:
            t0 = time.perf_counter()
            page = clients[tool].search_runs(
                [ids[tool]], filter_string=FILTER, order_by=ORDER, max_results=PAGE
            )
            seconds = time.perf_counter() - t0
            if r:
                times[tool].append(seconds)
            found[tool] = [round(run.data.metrics["rmse"], 9) for run in page]
    if found["modelpack"] != found["MLflow"] or len(found["MLflow"]) != min(PAGE, args.runs):
        raise SystemExit(f"the servers found different runs: {found}")
    mp, ml = statistics.median(times["modelpack"]), statistics.median(times["MLflow"])
    ratio = ml / mp
    row = Row(
        f"`search_runs` over {args.runs:,} runs, first {PAGE} (filter + order on a metric)",
        f"{mp * 1000:.1f} ms",
        f"{ml * 1000:.1f} ms",
        ratio,
        ">= 20x and < 100 ms",
        ratio >= 20 and mp < 0.1,
    )
    made = Row(
        "(filling: one run through the store API: create + log_batch + end)",
        f"{per_run['modelpack'] * 1000:.1f} ms",
        f"{per_run['MLflow'] * 1000:.1f} ms",
        per_run["MLflow"] / per_run["modelpack"],
    )
    return [row, made]


# ---------------------------------------------------------------------------- case: model
def case_model(servers: dict[str, Server], args: argparse.Namespace) -> list[Row]:
    import mlflow
    import sklearn
    from bench_core import build_models

    import modelpack

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # importing mlflow set it to INFO
    models = build_models()
    example = models.frame.head(3)
    modelpack.set_store_uri(servers["modelpack"].url)
    mlflow.set_tracking_uri(servers["MLflow"].url)
    pinned = [f"scikit-learn=={sklearn.__version__}"]

    def ours() -> float:
        t0 = time.perf_counter()
        with modelpack.start_run():
            info = modelpack.sklearn.log_model(
                models.lr,
                "model",
                preprocessor=models.dv,
                input_example=example,
                registered_model_name="taxi",
            )
        modelpack.load_model(f"models:/taxi/{info.registered_model_version}").predict(example)
        return time.perf_counter() - t0

    def theirs(extra: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        # MLflow writes "View run ... at ..." lines to stdout: keep them out of the table
        with contextlib.redirect_stdout(sys.stderr), mlflow.start_run():
            info = mlflow.sklearn.log_model(
                models.pipeline,
                name="model",
                input_example=example,
                registered_model_name="taxi",
                serialization_format="cloudpickle",  # skops refuses the pipeline's function
                **extra,
            )
        loaded = mlflow.pyfunc.load_model(f"models:/taxi/{info.registered_model_version}")
        loaded.predict(example)
        return time.perf_counter() - t0

    sides: dict[str, Callable[[], float]] = {
        "modelpack": ours,
        "MLflow": lambda: theirs({}),
        "MLflow pinned": lambda: theirs({"pip_requirements": pinned}),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(args.repeat + 1):
        for name in list(sides) if r % 2 == 0 else list(sides)[::-1]:
            seconds = sides[name]()
            if r:
                times[name].append(seconds)
            print(f"model round {r + 1}: {name} {seconds:.2f} s", file=sys.stderr)
    mp = statistics.median(times["modelpack"])
    rows = []
    for name, label in (("MLflow", "defaults"), ("MLflow pinned", "`pip_requirements` given")):
        ml = statistics.median(times[name])
        ratio = ml / mp
        target = name == "MLflow"
        rows.append(
            Row(
                f"taxi model: `log_model` + register + load `models:/` + predict (MLflow {label})",
                f"{mp * 1000:.0f} ms",
                f"{ml * 1000:.0f} ms",
                ratio,
                ">= 10x" if target else "",
                ratio >= 10 if target else None,
            )
        )
    return rows


# ------------------------------------------------------------------------- case: artifact
# One transfer in a fresh interpreter; prints one JSON line.
_ARTIFACT_CHILD = r"""
import json, os, resource, sys, time
side, direction, target, where, local = sys.argv[1:6]

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0

if side == "modelpack":  # target: the server URL, where: the run id
    from modelpack.tracking import MlflowClient
    client = MlflowClient(tracking_uri=target)
    client.list_artifacts(where)  # a first request, so both sides start with a connection
    if direction == "up":
        run = lambda: client.log_artifact(where, local, "big")
    else:
        run = lambda: client.download_artifacts(where, "big/" + os.path.basename(local),
                                                os.path.dirname(local))
else:  # target: the bucket, where: the key
    import boto3
    from boto3.s3.transfer import TransferConfig
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    client.list_objects_v2(Bucket=target, MaxKeys=1)
    # "raw": boto3's defaults (8 MiB parts, 10 threads); "raw-stream": one request, streamed
    config = TransferConfig() if side == "raw" else TransferConfig(
        multipart_threshold=1 << 50, use_threads=False)
    if direction == "up":
        run = lambda: client.upload_file(local, target, where, Config=config)
    else:
        run = lambda: client.download_file(target, where, local, Config=config)
before = status("VmRSS")
t = time.perf_counter()
run()
seconds = time.perf_counter() - t
# VmHWM, this process's own peak: on Linux getrusage's ru_maxrss also keeps the peak of the
# process that forked this one (it survives exec), which hides the child's own figure
peak = status("VmHWM")
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "rss_before": before, "rss_peak": peak, "maxrss": maxrss}))
"""


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(_MIB)
    with open(path, "wb") as f:
        for i in range(size // _MIB):
            f.write(block[i % 256 :] + block[: i % 256])  # distinct blocks, cheap to make


def transfer(side: str, direction: str, target: str, where: str, local: Path, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _ARTIFACT_CHILD, side, direction, target, where, str(local)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{side} {direction} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def artifact_pair(
    size: int, rounds: int, servers: dict[str, Server], env: dict, work: Path, s3: S3Server
) -> dict[tuple[str, str], list[dict]]:
    """``rounds`` interleaved up+down transfers of a ``size`` file on both sides."""
    import boto3

    import modelpack.tracking

    mp_client = modelpack.tracking.MlflowClient(tracking_uri=servers["modelpack"].url)
    experiment = _create_experiment(servers, "artifacts")["modelpack"]
    raw_bucket = s3.create_bucket(f"raw-{uuid.uuid4().hex[:8]}")
    s3_client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    source = work / "up" / f"artifact-{size // _MIB}.bin"
    source.parent.mkdir(exist_ok=True)
    _make_file(source, size)
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(rounds):
        for side in SIDES[r % 3 :] + SIDES[: r % 3]:
            down = work / f"down-{side}" / source.name
            down.parent.mkdir(exist_ok=True)
            if side == "modelpack":
                target, where = (
                    servers["modelpack"].url,
                    mp_client.create_run(experiment).info.run_id,
                )
            else:
                target, where = raw_bucket, f"{r}/{source.name}"
            for direction, local in (("up", source), ("down", down)):
                res = transfer(side, direction, target, where, local, env)
                results.setdefault((side, direction), []).append(res)
                print(
                    f"artifact {size // _MIB} MiB round {r + 1}: {side} {direction} "
                    f"{size / _MIB / res['seconds']:.1f} MB/s, peak RSS "
                    f"{res['rss_peak'] / _MIB:.0f} MiB",
                    file=sys.stderr,
                )
            if down.stat().st_size != size:
                raise SystemExit(f"{side} downloaded {down.stat().st_size} bytes of {size}")
            down.unlink()
            if side != "modelpack":
                s3_client.delete_object(Bucket=raw_bucket, Key=where)
            else:
                mp_client.delete_run(where)
    source.unlink()
    return results


def case_artifact(
    servers: dict[str, Server], args: argparse.Namespace, env: dict, work: Path, s3: S3Server
) -> list[Row]:
    size = args.artifact_mb * _MIB
    small = 16 * _MIB
    big = artifact_pair(size, args.artifact_rounds, servers, env, work, s3)
    ref = artifact_pair(small, 1, servers, env, work, s3)
    rows = []
    for direction in ("up", "down"):
        speed = {
            side: statistics.median(size / _MIB / r["seconds"] for r in big[(side, direction)])
            for side in SIDES
        }
        peak = {side: max(r["rss_peak"] for r in big[(side, direction)]) / _MIB for side in speed}
        ref_peak = {side: ref[(side, direction)][0]["rss_peak"] / _MIB for side in speed}
        growth = peak["modelpack"] - ref_peak["modelpack"]
        raw = max(speed["raw"], speed["raw-stream"])  # the stricter reference
        ratio = speed["modelpack"] / raw
        flat = growth < 64  # MiB: a few parts' worth, not the file
        rows.append(
            Row(
                f"{args.artifact_mb:,} MiB artifact {direction} (modelpack: client -> its server's "
                "proxy -> S3; raw: boto3 -> S3)",
                f"{speed['modelpack']:.0f} MB/s, peak RSS {peak['modelpack']:.0f} MiB "
                f"({ref_peak['modelpack']:.0f} MiB for 16 MiB)",
                f"raw boto3 {speed['raw']:.0f} MB/s (defaults), {speed['raw-stream']:.0f} MB/s "
                f"(one stream); peak RSS {peak['raw']:.0f} / {peak['raw-stream']:.0f} MiB "
                f"({ref_peak['raw']:.0f} / {ref_peak['raw-stream']:.0f} MiB for 16 MiB)",
                ratio,
                ">= 0.8x the faster raw, flat memory",
                ratio >= 0.8 and flat,
            )
        )
    return rows


# ------------------------------------------------------------------------------ report
def versions() -> str:
    import mlflow

    import modelpack

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"modelpack {modelpack.__version__}, MLflow {mlflow.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average at the end {load}"
    )


def table(rows: list[Row], ratio_note: str) -> str:
    lines = [
        f"| measurement | modelpack | MLflow | {ratio_note} | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.what} | {row.modelpack} | {row.mlflow} | {ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=CASES, help="repeatable; default all")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (< 2 minutes)")
    parser.add_argument("--runs", type=int, default=100_000, help="runs to search")
    parser.add_argument(
        "--api-runs",
        type=int,
        default=2000,
        help="runs made through each store API before the rest are copied",
    )
    parser.add_argument("--clients", type=int, default=8, help="client processes (log)")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per round (log)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (log)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (search, model)")
    parser.add_argument("--artifact-mb", type=int, default=1024, help="artifact size (artifact)")
    parser.add_argument("--artifact-rounds", type=int, default=2, help="rounds (artifact)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.api_runs, args.seconds, args.rounds = 2000, 200, 3.0, 1
        args.repeat, args.artifact_mb, args.artifact_rounds = 1, 64, 1
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    command = "python benchmarks/bench_store.py " + " ".join(sys.argv[1:] if argv is None else argv)
    cases = args.case or list(CASES)

    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    print(f"work folder (server logs): {work}", file=sys.stderr)
    started: list[subprocess.Popen[bytes]] = []
    pg: Postgres | None = None
    ok = False
    try:
        pg = start_postgres(work)
        s3 = start_s3(work)
        started.append(s3.proc)
        os.environ.update(s3.env())
        os.environ["MODELPACK_CACHE_DIR"] = str(work / "cache")
        servers = {}
        for tool in TOOLS:
            servers[tool] = start_server(tool, pg, s3, work, args.workers)
            started.append(servers[tool].proc)
        env = client_env(s3, work)
        rows: list[Row] = []
        t0 = time.perf_counter()
        runners: dict[str, Callable[[], list[Row]]] = {
            "log": lambda: case_log(servers, args, env, work),
            "search": lambda: case_search(servers, args),
            "model": lambda: case_model(servers, args),
            "artifact": lambda: case_artifact(servers, args, env, work, s3),
        }
        for case in CASES:
            if case in cases:
                t1 = time.perf_counter()
                rows += runners[case]()
                print(f"{case}: {time.perf_counter() - t1:.0f} s", file=sys.stderr)
        print(
            f"\n`{command.strip()}` ({versions()}; {args.workers} workers per server; "
            f"{time.perf_counter() - t0:.0f} s)\n"
        )
        print(table(rows, "modelpack / MLflow (speed)"))
        ok = True
    finally:
        for proc in reversed(started):
            stop(proc)
        if pg is not None:
            pg.stop("immediate")
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
