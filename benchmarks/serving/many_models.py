"""Many models in one ``modelpack serve``, and an alias move under load (``bench_serving.py``).

``--many-models``: 20 random forests of different sizes (3 to 22 trees, leaves of 2 or more
samples, 20,000 training rows, 3 double columns), each served alone and then all in one server. Memory: the server's resident memory (VmRSS)
against what the models cost alone: a server of one tiny forest (1 tree of depth 2) is the floor (the
interpreter, numpy, scikit-learn, the web stack), each model's own cost is its lone server's
RSS minus that floor, and the 20-model server is compared with floor + the sum of those. The
table also adds up what ``/metrics`` reports per model (``modelpack_model_memory_bytes``: the
growth of RSS while each model loaded). Latency: 1-row requests on one keep-alive connection
(``wrk -t1 -c1``) to the same model, served alone (``/invocations``) and among 20
(``/invocations/<name>``), in interleaved rounds while all the servers run, for the smallest
forest (its predict is quick, so the server's own overhead shows) and a middle-sized one.

``--alias-move``: a server on ``models:/m@prod`` with ``--watch-interval 1`` under
``wrk -t2 -c8`` for 12 s; 4 s in, the alias moves to version 2. Counts wrk's non-2xx answers
and socket errors, and times the first answer from version 2 after the move (polled every 20 ms
on another connection), with 1 and 2 workers.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROW = {"a": 0.1, "b": -1.2, "c": 0.7}
BODY = json.dumps({"dataframe_records": [ROW]}).encode()
COUNT = 20


def _bench() -> Any:
    import bench_serving  # type: ignore[import-not-found]

    return bench_serving


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _start(args: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Any:
    """``modelpack serve ARGS`` (its own session, output to ``log``), once /ping answers."""
    bench = _bench()
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelpack", "serve", *args, "--port", str(port),
             "--no-access-log"],
            stdout=out, stderr=out, start_new_session=True, env={**os.environ, **(env or {})},
        )  # fmt: skip
    while time.perf_counter() - started < bench.START_TIMEOUT:
        if proc.poll() is not None:
            raise RuntimeError(f"modelpack serve {args[:2]} exited; see {log}")
        try:
            if bench.call(port, "GET", "/ping")[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.02)
    bench.stop(proc)
    raise RuntimeError(f"modelpack serve was not ready; see {log}")


def _settled_rss(port: int, pid: int, path: str) -> float:
    """RSS after a few requests (first-call allocations done)."""
    for _ in range(20):
        _bench().call(port, "POST", path, BODY)
    time.sleep(0.2)
    return _rss_mib(pid)


def _wrk(
    port: int, path: str, connections: int, duration: float, workdir: Path
) -> dict[str, float]:
    script = workdir / f"post-{abs(hash(path))}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(BODY.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration:g}s", "--latency",
         "-s", str(script), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True, timeout=duration + 60,
    ).stdout  # fmt: skip
    return _parse_wrk(out)


def _parse_wrk(out: str) -> dict[str, float]:
    ms = _bench()._ms
    found = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "requests": float(found.group(1)) if found else 0.0,
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in sock.groups())) if sock else 0.0,
    }


# ------------------------------------------------------------------------- many models
def build_forests(workdir: Path) -> list[Path]:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor

    import modelpack

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(20000, 3)), columns=list(ROW))
    y = x["a"] * 2 - x["b"] + np.sin(x["c"] * 3) + rng.normal(0, 0.1, len(x))
    # the floor: the same libraries imported (sklearn.ensemble), a model of a few KiB
    tiny = RandomForestRegressor(n_estimators=1, max_depth=2, random_state=0).fit(x, y)
    modelpack.save_model(tiny, workdir / "tiny", input_example=x.head(2))
    paths = []
    for i in range(COUNT):
        forest = RandomForestRegressor(
            n_estimators=3 + i, min_samples_leaf=2, random_state=i, n_jobs=1
        )
        path = workdir / f"forest-{i:02d}"
        modelpack.save_model(forest.fit(x, y), path, input_example=x.head(2))
        paths.append(path)
    return paths


def many_models(rounds: int, duration: float) -> dict[str, Any]:
    """Memory and 1-row latency of 20 models in one server against each one alone."""
    bench = _bench()
    workdir = Path(tempfile.mkdtemp(prefix="bench-many-"))
    log = workdir / "servers.log"
    paths = build_forests(workdir)
    own: list[float] = []
    floors: list[float] = []
    for path in [workdir / "tiny", *paths]:  # each alone, one at a time
        port = bench.free_port()
        proc = _start([str(path)], port, log)
        try:
            rss = _settled_rss(port, proc.pid, "/invocations")
        finally:
            bench.stop(proc)
        if path.name == "tiny":
            floors.append(rss)
        else:
            own.append(rss)
    floor = floors[0]
    costs = [rss - floor for rss in own]
    targets = {"3 trees": paths[0], f"{3 + COUNT // 2} trees": paths[COUNT // 2]}
    many_port = bench.free_port()
    alone = {label: (bench.free_port(), path) for label, path in targets.items()}
    procs = [_start([str(path)], port, log) for port, path in alone.values()]
    many = _start([str(p) for p in paths], many_port, log)
    procs.append(many)
    try:
        many_rss = _settled_rss(many_port, many.pid, f"/invocations/{paths[0].name}")
        for path in paths:
            status, _ = bench.call(many_port, "POST", f"/invocations/{path.name}", BODY)
            assert status == 200, path
        _, text = bench.call(many_port, "GET", "/metrics")
        found = re.findall(
            rb'^modelpack_model_memory_bytes\{model="([^"]+)".*\} (\d+)$', text, re.M
        )
        reported = {name.decode(): int(size) for name, size in found}
        runs: dict[str, list[dict[str, float]]] = {}
        for r in range(rounds):
            for label, (port, path) in alone.items():
                pair = [
                    ("alone", port, "/invocations"),
                    ("many", many_port, f"/invocations/{path.name}"),
                ]
                for kind, at, route in pair if r % 2 == 0 else pair[::-1]:
                    res = _wrk(at, route, 1, duration, workdir)
                    runs.setdefault(f"{label} {kind}", []).append(res)
                    print(f"round {r + 1}: {label} {kind}: p50 {res['p50']:.2f} ms, "
                          f"p99 {res['p99']:.2f} ms, {res['rps']:.0f} req/s",
                          file=sys.stderr, flush=True)  # fmt: skip
    finally:
        for proc in procs:
            bench.stop(proc)
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    return {
        "floor_mib": floor,
        "own_mib": costs,
        "expected_mib": floor + sum(costs),
        "many_mib": many_rss,
        "reported_mib": sum(reported.values()) / 2**20,
        "reported_rest_mib": (sum(reported.values()) - reported[paths[0].name]) / 2**20,
        "latency": med,
        "rounds": rounds,
        "duration": duration,
    }


def report_many(res: dict[str, Any]) -> None:
    own = res["own_mib"]
    print(f"\n20 random forests (3-22 trees, min_samples_leaf=2), 1 worker; memory is VmRSS after 20 "
          f"requests; latency: wrk -t1 -c1, {res['rounds']} interleaved round(s) of "
          f"{res['duration']:g} s, medians.\n")  # fmt: skip
    print("| measure | value |")
    print("|---|---:|")
    print(f"| floor: a server of one tiny forest (1 tree, depth 2) | {res['floor_mib']:.0f} MiB |")
    print(f"| the 20 models' own cost (lone server minus floor), sum | {sum(own):.0f} MiB "
          f"({min(own):.1f} to {max(own):.1f} each) |")  # fmt: skip
    print(f"| expected: floor + sum | {res['expected_mib']:.0f} MiB |")
    print(f"| measured: one server with the 20 models | {res['many_mib']:.0f} MiB "
          f"({res['many_mib'] / res['expected_mib'] - 1:+.1%} vs expected) |")  # fmt: skip
    print(f"| /metrics modelpack_model_memory_bytes, sum over models | "
          f"{res['reported_mib']:.0f} MiB |")  # fmt: skip
    print(f"| the same, without the first model loaded (it carries the library imports) | "
          f"{res['reported_rest_mib']:.0f} MiB |")  # fmt: skip
    lat = res["latency"]
    for target in sorted({k.rsplit(" ", 1)[0] for k in lat}):
        alone, many = lat[f"{target} alone"], lat[f"{target} many"]
        for key in ("p50", "p99"):
            print(f"| 1-row latency {key}, forest of {target}: alone / among 20 | "
                  f"{alone[key]:.2f} ms / {many[key]:.2f} ms ({many[key] / alone[key] - 1:+.0%}) |")  # fmt: skip
        print(f"| req/s on one connection, forest of {target}: alone / among 20 | "
              f"{alone['rps']:,.0f} / {many['rps']:,.0f} |")  # fmt: skip


# ---------------------------------------------------------------------------- alias move
def _save_versions(workdir: Path) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelpack

    x = pd.DataFrame(np.random.default_rng(1).normal(size=(200, 3)), columns=list(ROW))
    for factor in (1.0, 2.0):
        path = workdir / f"v{factor:g}"
        model = LinearRegression().fit(x, factor * (x["a"] + x["b"] + x["c"]))
        modelpack.save_model(model, path, input_example=x.head(2))
        modelpack.register_model(path, "m")
    modelpack.set_alias("m", "prod", 1)


def alias_move(workers: int, duration: float = 12.0, move_at: float = 4.0) -> dict[str, float]:
    """wrk on a server following ``models:/m@prod`` while the alias moves from 1 to 2."""
    import modelpack
    from modelpack._store import set_store_uri

    bench = _bench()
    workdir = Path(tempfile.mkdtemp(prefix="bench-alias-"))
    store = str(workdir / "store")
    set_store_uri(store)
    _save_versions(workdir)
    want = 2.0 * sum(ROW.values())
    port = bench.free_port()
    log = workdir / "server.log"
    proc = _start(["models:/m@prod", "--watch-interval", "1", "--workers", str(workers)],
                  port, log, env={"MODELPACK_STORE_URI": store})  # fmt: skip
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(BODY.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    result: dict[str, str] = {}

    def load() -> None:
        result["out"] = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{duration:g}s", "--latency", "-s", str(script),
             f"http://127.0.0.1:{port}/invocations"],
            capture_output=True, text=True, check=True, timeout=duration + 60,
        ).stdout  # fmt: skip

    try:
        thread = threading.Thread(target=load)
        thread.start()
        time.sleep(move_at)
        moved = time.perf_counter()
        modelpack.set_alias("m", "prod", 2)
        switched = None
        while time.perf_counter() - moved < duration:
            status, body = bench.call(port, "POST", "/invocations", BODY)
            if status == 200 and abs(json.loads(body)["predictions"][0] - want) < 1e-6:
                switched = time.perf_counter() - moved
                break
            time.sleep(0.02)
        thread.join()
    finally:
        bench.stop(proc)
    loads = [float(s) for s in re.findall(r"loaded in ([\d.]+) s\)", log.read_text())]
    return {
        **_parse_wrk(result["out"]),
        "switch_s": switched if switched is not None else float("nan"),
        "load_s": max(loads) if loads else float("nan"),
        "workers": float(workers),
    }


def report_alias(results: list[dict[str, float]]) -> None:
    print("\nAlias move under load: `modelpack serve models:/m@prod --watch-interval 1`, "
          "wrk -t2 -c8 for 12 s, 1-row requests; the alias moves 4 s in.\n")  # fmt: skip
    print("| workers | requests | non-2xx | socket errors | req/s | p99 ms | "
          "first answer from v2 after the move | load of v2 |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['workers']:.0f} | {r['requests']:,.0f} | {r['non2xx']:.0f} | "
              f"{r['socket_errors']:.0f} | {r['rps']:,.0f} | {r['p99']:.2f} | "
              f"{r['switch_s']:.2f} s | {r['load_s']:.2f} s |")  # fmt: skip


def main(mode: str, *, rounds: int, duration: float, json_path: Path | None) -> int:
    """Run one mode of ``bench_serving.py``: ``many-models`` or ``alias-move``."""
    if mode == "many-models":
        res: Any = many_models(rounds, duration)
        report_many(res)
    else:
        res = [alias_move(workers) for workers in (1, 2)]
        report_alias(res)
    if json_path is not None:
        json_path.write_text(json.dumps(res, indent=1))
    return 0
