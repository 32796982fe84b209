"""Model URIs on object storage: ``s3://bucket/path/to/model`` loads through the download
cache keyed by the manifest's digest, verified before every use, and works from the CLI
(``predict``, ``serve``) in real subprocesses."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from _services import free_port, wait_for_port

import modelpack
from modelpack._integrity import file_digest
from modelpack._storage import fetch_model, storage_for
from modelpack.exceptions import IntegrityError, ModelNotFoundError

from .conftest import MotoLog


@pytest.fixture
def s3_model(bucket: str, taxi_model_dir: Path) -> str:
    """The taxi model uploaded where an MLflow-style run keeps it."""
    storage_for(f"s3://{bucket}/1/abc123/artifacts").put_dir(taxi_model_dir, "model")
    return f"s3://{bucket}/1/abc123/artifacts/model"


def _entries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_load_model_from_s3_predicts_like_the_local_model(
    s3_model: str, taxi_model_dir: Path, taxi: Any, cache: Path
) -> None:
    frame, _, _ = taxi
    remote = modelpack.load_model(s3_model)
    local = modelpack.load_model(taxi_model_dir)
    np.testing.assert_array_equal(remote.predict(frame), local.predict(frame))
    key = file_digest(taxi_model_dir / "MLmodel").partition(":")[2]
    assert _entries(cache) == [key]
    from modelpack.models import get_model_info

    assert Path(get_model_info(s3_model).model_dir) == cache / key


def test_second_load_downloads_only_the_manifest(
    s3_model: str, bucket: str, cache: Path, moto_log: MotoLog
) -> None:
    first = fetch_model(s3_model)
    downloaded = moto_log.requests("GET", bucket)
    assert len(downloaded) > 2  # MLmodel, then every listed file
    moto_log.mark()
    assert fetch_model(s3_model) == first
    modelpack.load_model(s3_model)
    # each use reads MLmodel (the URI may hold another model by now), nothing else
    manifest = s3_model.partition(f"s3://{bucket}")[2] + "/MLmodel"
    assert moto_log.requests("GET", bucket) == [f"/{bucket}{manifest}"] * 2


@pytest.mark.parametrize(
    "damage", ["modify", "truncate", "delete", "manifest"], ids=lambda d: f"{d}-cached-file"
)
def test_a_damaged_cache_entry_is_downloaded_again(
    s3_model: str, bucket: str, taxi: Any, cache: Path, moto_log: MotoLog, damage: str
) -> None:
    frame, _, _ = taxi
    entry = fetch_model(s3_model)
    expected = modelpack.load_model(s3_model).predict(frame)
    manifest = yaml.safe_load((entry / "MLmodel").read_text())
    victim = entry / sorted(manifest["modelpack"]["files"])[0]
    if damage == "modify":
        victim.write_bytes(victim.read_bytes()[:-1] + b"!")
    elif damage == "truncate":
        victim.write_bytes(b"")
    elif damage == "delete":
        victim.unlink()
    else:
        victim = entry / "MLmodel"
        victim.write_text(victim.read_text() + "\n# edited\n")
    moto_log.mark()
    assert fetch_model(s3_model) == entry
    refetched = [t for t in moto_log.requests("GET", bucket) if not t.endswith("/MLmodel")]
    assert refetched, "the damaged entry was used without downloading the model again"
    assert modelpack.load_model(s3_model).predict(frame).tolist() == expected.tolist()
    assert [p.name for p in cache.iterdir()] == [entry.name]  # nothing left aside


def test_no_mlmodel_means_no_model(bucket: str, taxi_model_dir: Path, cache: Path) -> None:
    storage = storage_for(f"s3://{bucket}/runs")
    for local in taxi_model_dir.iterdir():
        if local.is_file() and local.name != "MLmodel":
            storage.put_file(local, f"half/{local.name}")
    with pytest.raises(ModelNotFoundError, match="holds files but no MLmodel") as e:
        modelpack.load_model(f"s3://{bucket}/runs/half")
    assert e.value.uri == f"s3://{bucket}/runs/half"
    with pytest.raises(ModelNotFoundError, match="no model at .*nothing is there"):
        modelpack.load_model(f"s3://{bucket}/runs/none")
    assert _entries(cache) == []


def test_a_remote_file_changed_after_saving_is_refused(
    s3_model: str, bucket: str, tmp_path: Path, cache: Path
) -> None:
    other = tmp_path / "other"
    other.write_bytes(b"not the model")
    storage = storage_for(s3_model)
    victim = next(i.path for i in storage.list("") if i.path.endswith(".skops"))
    storage.put_file(other, victim)
    with pytest.raises(IntegrityError, match=f"downloaded from {s3_model} does not match"):
        modelpack.load_model(s3_model)
    assert _entries(cache) == []  # nothing unverified is kept


_FETCH = "import sys; from modelpack._storage import fetch_model; print(fetch_model(sys.argv[1]))"


def test_concurrent_loaders_share_one_entry(s3_model: str, cache: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _FETCH, s3_model], stdout=subprocess.PIPE, env=env, text=True
        )
        for _ in range(3)
    ]
    paths = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert len(paths) == 1
    assert _entries(cache) == [Path(paths.pop()).name]  # no temporary folder left behind


def test_a_directory_without_digests_is_downloaded_fresh_each_time(
    bucket: str, taxi_model_dir: Path, tmp_path: Path, cache: Path
) -> None:
    plain = tmp_path / "mlflow-style"
    shutil.copytree(taxi_model_dir, plain)
    data = yaml.safe_load((plain / "MLmodel").read_text())
    del data["modelpack"]  # what MLflow writes: no digests to check a cached copy against
    (plain / "MLmodel").write_text(yaml.safe_dump(data))
    storage_for(f"s3://{bucket}").put_dir(plain, "mlflow-model")
    first = fetch_model(f"s3://{bucket}/mlflow-model")
    second = fetch_model(f"s3://{bucket}/mlflow-model")
    assert first != second
    for copy in (first, second):
        assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in plain.iterdir())
    assert _entries(cache) == []


def test_fsspec_model_uri_loads(taxi_model_dir: Path, taxi: Any, cache: Path) -> None:
    frame, _, _ = taxi
    storage = storage_for("memory://models-bucket/team")
    storage.put_dir(taxi_model_dir, "taxi")
    try:
        remote = modelpack.load_model("memory://models-bucket/team/taxi")
        np.testing.assert_array_equal(
            remote.predict(frame), modelpack.load_model(taxi_model_dir).predict(frame)
        )
    finally:
        storage.delete_prefix("")


# ------------------------------------------------------------------ the CLI, in subprocesses
def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}


def test_predict_cli_on_an_s3_model(
    s3_model: str, taxi_model_dir: Path, taxi: Any, tmp_path: Path, cache: Path
) -> None:
    frame, _, _ = taxi
    frame.to_csv(tmp_path / "trips.csv", index=False)
    out = tmp_path / "scored.csv"
    command = ["predict", s3_model, "-i", str(tmp_path / "trips.csv"), "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", *command],
        capture_output=True,
        text=True,
        env=_cli_env(),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    import pandas as pd

    expected = modelpack.load_model(taxi_model_dir).predict(frame)
    np.testing.assert_allclose(pd.read_csv(out)["prediction"], expected, rtol=1e-12)


def test_predict_cli_names_a_missing_bucket(s3_env: Any, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a\n1\n")
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", "predict", "s3://no-such-bucket-x/m",
         "-i", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")],
        capture_output=True, text=True, env=_cli_env(), timeout=180,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no-such-bucket-x" in lines[0] and s3_env.endpoint_url in lines[0]


def _post(port: int, body: dict[str, Any]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/invocations", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.slow
def test_serve_an_s3_model(
    s3_model: str, taxi_model_dir: Path, taxi: Any, tmp_path: Path, cache: Path
) -> None:
    frame, _, _ = taxi
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelpack", "serve", s3_model, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_cli_env(),
        )
    try:
        wait_for_port(port, timeout=120, proc=proc)
        deadline = time.monotonic() + 60
        while True:
            try:
                status, answer = _post(
                    port, {"dataframe_records": frame.head(5).to_dict("records")}
                )
                break
            except (ConnectionError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert status == 200, answer
        expected = modelpack.load_model(taxi_model_dir).predict(frame.head(5))
        np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-12)
    finally:
        proc.terminate()
        proc.wait(30)


class _RemoteStore:
    """The two lookups URI resolution makes in a store, answering with remote locations (what
    a team store with an s3:// artifact root records)."""

    def __init__(self, artifact_root: str) -> None:
        self.artifact_root = artifact_root

    def get_model_version(self, name: str, version: int) -> Any:
        from types import SimpleNamespace

        location = f"{self.artifact_root}/model"
        return SimpleNamespace(name=name, version=version, storage_location=location)

    def get_run(self, run_id: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(
            info=SimpleNamespace(run_id=run_id, artifact_uri=self.artifact_root),
            data=SimpleNamespace(tags={}),
            logged_models=["model"],
        )


def test_runs_and_models_uris_with_remote_locations(
    s3_model: str, bucket: str, cache: Path
) -> None:
    from modelpack._uri import parse_uri, resolve_in_store

    store = _RemoteStore(f"s3://{bucket}/1/abc123/artifacts")
    entry = fetch_model(s3_model)
    assert resolve_in_store(store, parse_uri("models:/taxi/1")) == entry  # type: ignore[arg-type]
    assert resolve_in_store(store, parse_uri("runs:/abc123/model")) == entry  # type: ignore[arg-type]
