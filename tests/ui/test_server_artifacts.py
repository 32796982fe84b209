"""Artifacts logged through ``modelpack server``'s proxy by MLflow's own client, seen in the UI
at ``/`` of that server: listed, previewed and downloaded from the server's artifacts
destination (a folder, or an S3 bucket on moto), never outside the run's artifact root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._services import free_port, wait_for_port

#: logs a run through the server with MLflow's client; prints the run's id and artifact URI
_CLIENT = r"""
import sys, tempfile, pathlib
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("proxied")
with mlflow.start_run(run_name="through-the-proxy") as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_text("hello through the proxy\n", "notes/proxied.txt")
    mlflow.log_dict({"answer": 42}, "info.json")
    folder = pathlib.Path(tempfile.mkdtemp())
    (folder / "pixel.png").write_bytes(bytes.fromhex(sys.argv[2]))
    mlflow.log_artifact(str(folder / "pixel.png"), "plots")
print(run.info.run_id, run.info.artifact_uri)
"""
#: a 1x1 PNG
_PIXEL = (
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f"
    "15c4890000000d4944415478da63fccfc0500f000485018084a98c210000000049454e44ae426082"
)


@dataclass
class Served:
    url: str
    run_id: str
    artifact_uri: str
    store: Path
    folder: Path
    destination: str


def _serve(folder: Path, destination: str, env: dict[str, str]) -> tuple[str, Any]:
    port = free_port()
    store = folder / "store"
    with (folder / "server.log").open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "modelpack", "server",
                "--backend-store-uri", str(store),
                "--artifacts-destination", destination,
                "--port", str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env, "MODELPACK_STORE_URI": str(store)},
        )  # fmt: skip
    wait_for_port(port, timeout=60, proc=process)
    return f"http://127.0.0.1:{port}", process


def _log_run(url: str, folder: Path) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT, url, _PIXEL],
        capture_output=True,
        text=True,
        env=env,  # no storage credentials: the files can only go through the proxy
        cwd=folder,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id, artifact_uri = done.stdout.strip().splitlines()[-1].split()
    return run_id, artifact_uri


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("proxied")
    destination = str(folder / "destination")
    url, process = _serve(folder, destination, {})
    try:
        run_id, artifact_uri = _log_run(url, folder)
        yield Served(url, run_id, artifact_uri, folder / "store", folder, destination)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def s3_server(s3: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("proxied-s3")
    bucket = s3.create_bucket()
    destination = f"s3://{bucket}/team"
    url, process = _serve(folder, destination, s3.env())
    try:
        run_id, artifact_uri = _log_run(url, folder)
        yield Served(url, run_id, artifact_uri, folder / "store", folder, destination)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("content-type", "")


def _listing(served: Served, path: str = "") -> dict[str, Any]:
    query = f"?path={urllib.parse.quote(path)}" if path else ""
    status, body, _ = _get(f"{served.url}/ui/api/runs/{served.run_id}/artifacts{query}")
    assert status == 200, body
    listing: dict[str, Any] = json.loads(body)
    return listing


def test_the_client_logged_through_the_proxy(local_server: Served) -> None:
    assert local_server.artifact_uri.startswith("mlflow-artifacts:")
    destination = local_server.folder / "destination"
    assert list(destination.rglob("proxied.txt")), "the proxy did not receive the file"
    assert not list(local_server.store.rglob("proxied.txt"))


@pytest.mark.parametrize("served", ["local_server", "s3_server"], ids=["folder", "s3"])
def test_the_ui_lists_previews_and_downloads_proxied_artifacts(
    served: str, request: pytest.FixtureRequest
) -> None:
    server: Served = request.getfixturevalue(served)
    status, body, _ = _get(f"{server.url}/ui/api/runs/{server.run_id}")
    location = json.loads(body)["system"]["artifact_uri"]
    assert location.startswith(server.destination) and location.endswith(
        f"/{server.run_id}/artifacts"
    )
    files = {f["path"]: f for f in _listing(server)["files"]}
    assert set(files) == {"info.json", "notes", "plots"}
    assert files["notes"]["is_dir"] and files["info.json"]["preview"] == "json"
    assert [f["path"] for f in _listing(server, "notes")["files"]] == ["notes/proxied.txt"]
    base = f"{server.url}/ui/api/runs/{server.run_id}/artifact?path="
    status, body, kind = _get(base + "notes/proxied.txt")
    assert (status, body) == (200, b"hello through the proxy\n")
    assert kind.startswith("text/plain")
    status, body, kind = _get(base + "info.json&download=1")
    assert status == 200 and b'"answer": 42' in body and kind == "application/octet-stream"
    status, body, _ = _get(base + "notes")
    assert status == 400 and b"folder" in body


@pytest.mark.parametrize(
    "path",
    ["../../../../etc/passwd", "/etc/passwd", "notes/../../x", "..", "../../.modelpack"],
    ids=["climb", "absolute", "inner-climb", "dotdot", "server-records"],
)
def test_proxied_artifact_paths_cannot_leave_the_run(local_server: Served, path: str) -> None:
    for endpoint in ("artifact", "artifacts"):
        url = f"{local_server.url}/ui/api/runs/{local_server.run_id}/{endpoint}?path="
        status, body, _ = _get(url + urllib.parse.quote(path))
        assert status in (400, 404), body


def test_a_link_in_the_destination_does_not_lead_out(local_server: Served) -> None:
    secret = local_server.folder / "secret.txt"
    secret.write_text("not an artifact")
    runs = list((local_server.folder / "destination").rglob(local_server.run_id))
    link = runs[0] / "artifacts" / "leak.txt"
    link.symlink_to(secret)
    try:
        url = f"{local_server.url}/ui/api/runs/{local_server.run_id}/artifact?path=leak.txt"
        status, body, _ = _get(url)
        assert status == 400 and b"not an artifact" not in body
        assert b"outside the run's artifact root" in body
    finally:
        link.unlink()


@pytest.mark.parametrize("served", ["local_server", "s3_server"], ids=["folder", "s3"])
def test_run_page_browses_proxied_artifacts(
    served: str, request: pytest.FixtureRequest, page: Any
) -> None:
    server: Served = request.getfixturevalue(served)
    page.goto(f"{server.url}/runs/{server.run_id}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.click("#artifact-list button[data-path='notes']")
    page.click("#artifact-list button[data-path='notes/proxied.txt']")
    page.wait_for_selector("#artifact-text")
    assert page.inner_text("#artifact-text").strip() == "hello through the proxy"
    page.click("#artifact-list button[aria-label='Up one folder']")
    page.click("#artifact-list button[data-path='plots']")
    page.click("#artifact-list button[data-path='plots/pixel.png']")
    page.wait_for_function(
        "() => { const i = document.querySelector('#artifact-preview img'); "
        "return i && i.complete && i.naturalWidth === 1; }"
    )
    with page.expect_download() as download:
        page.click("#artifact-preview a[download]")
    saved = download.value.path()
    assert Path(saved).read_bytes() == bytes.fromhex(_PIXEL)
