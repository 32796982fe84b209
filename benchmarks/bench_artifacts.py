"""Artifact transfers: modelpack's S3Storage against the raw boto3 client, same endpoint, one run.

A file of ``--size-mb`` (default 1024) goes up and comes back down, once through
``modelpack._storage.S3Storage`` (``put_file`` / ``get_file``, its default settings) and once
through boto3's own ``upload_file`` / ``download_file`` with the default transfer config, to
one moto server on 127.0.0.1 (``moto_server``, its log in the work folder). Each transfer runs
in a fresh interpreter, rounds interleaved and the order alternated, so neither side inherits
a warm connection pool or the other's memory.

Reported per side and direction: the median throughput (MB/s) over the rounds, the ratio
modelpack / raw (target: at least 0.80), and the client's memory: resident set before the
transfer and its peak during it (VmRSS, VmHWM), so a flat line means memory did not grow with
the file. Run from the repository root::

    .venv/bin/python benchmarks/bench_artifacts.py                  # 1 GiB, 3 rounds
    .venv/bin/python benchmarks/bench_artifacts.py --size-mb 256 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_MIB = 1 << 20

# One transfer in a fresh interpreter; prints one JSON line.
_CHILD = r"""
import json, os, sys, time
side, direction, bucket, key, local = sys.argv[1:6]

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0

import boto3
if side == "modelpack":
    from modelpack._storage import S3Storage
    storage = S3Storage(f"s3://{bucket}")
    storage.list("")  # a first request, so both sides start with a connection
    run = (lambda: storage.put_file(local, key)) if direction == "up" else (
        lambda: storage.get_file(key, local))
else:
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    client.list_objects_v2(Bucket=bucket, MaxKeys=1)
    run = (lambda: client.upload_file(local, bucket, key)) if direction == "up" else (
        lambda: client.download_file(bucket, key, local))
before = status("VmRSS")
t = time.perf_counter()
run()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rss_before": before, "rss_peak": status("VmHWM")}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_moto(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = Path(sys.executable).parent / "moto_server"
    port = _free_port()
    with open(work / "moto.log", "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto_server did not start; install it: pip install 'moto[server]'")


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(_MIB)
    with open(path, "wb") as f:
        for i in range(size // _MIB):
            f.write(block[i % 256 :] + block[: i % 256])  # distinct blocks, cheap to make


def _transfer(side: str, direction: str, bucket: str, key: str, local: Path, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, side, direction, bucket, key, str(local)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{side} {direction} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * _MIB

    work = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
    moto, endpoint = _start_moto(work)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, **_credentials(env))
        client.create_bucket(Bucket="bench")
        source = work / "artifact.bin"
        _make_file(source, size)
        results: dict[tuple[str, str], list[dict]] = {}
        for r in range(args.rounds):
            sides = ["modelpack", "raw"] if r % 2 == 0 else ["raw", "modelpack"]
            for side in sides:
                key = f"{side}/{r}/artifact.bin"
                target = work / f"down-{side}.bin"
                for direction, local in (("up", source), ("down", target)):
                    res = _transfer(side, direction, "bench", key, local, env)
                    results.setdefault((side, direction), []).append(res)
                    print(
                        f"round {r + 1} {side:9} {direction:4} {size / _MIB / res['seconds']:7.1f} "
                        f"MB/s  rss {res['rss_before'] / _MIB:5.0f} -> peak "
                        f"{res['rss_peak'] / _MIB:5.0f} MiB",
                        flush=True,
                    )
                if os.path.getsize(target) != size:
                    raise SystemExit(f"{side} downloaded {os.path.getsize(target)} bytes")
                target.unlink()
                client.delete_object(Bucket="bench", Key=key)
        _report(results, size, args.rounds)
    finally:
        moto.terminate()
        moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def _credentials(env: dict) -> dict:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


def _report(results: dict[tuple[str, str], list[dict]], size: int, rounds: int) -> None:
    print(f"\n{size / _MIB:.0f} MiB, {rounds} rounds, medians")
    print(f"{'':16}{'modelpack MB/s':>15}{'raw MB/s':>10}{'ratio':>7}   client RSS before -> peak")
    for direction in ("up", "down"):
        speed = {
            side: statistics.median(size / _MIB / r["seconds"] for r in results[(side, direction)])
            for side in ("modelpack", "raw")
        }
        mem = {
            side: (
                statistics.median(r["rss_before"] for r in results[(side, direction)]) / _MIB,
                max(r["rss_peak"] for r in results[(side, direction)]) / _MIB,
            )
            for side in ("modelpack", "raw")
        }
        print(
            f"{direction:16}{speed['modelpack']:15.1f}{speed['raw']:10.1f}"
            f"{speed['modelpack'] / speed['raw']:7.2f}   modelpack {mem['modelpack'][0]:.0f} -> "
            f"{mem['modelpack'][1]:.0f} MiB, raw {mem['raw'][0]:.0f} -> {mem['raw'][1]:.0f} MiB"
        )


if __name__ == "__main__":
    main()
