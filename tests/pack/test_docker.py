"""``modelpack build-docker``: the Dockerfile, parsed, and its install-and-serve steps run here.

No Docker engine runs on this machine, so the image is never built: the Dockerfile is parsed
and checked instruction by instruction, and the exact commands its stages run (the bundle's
``bootstrap.py install`` with venv + pip, then ``python -m modelpack serve``) are run outside
Docker on the same context.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelpack.exceptions import ModelpackError
from modelpack.pack._docker import DockerOptions, build_context, linux_platforms

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


@pytest.fixture(scope="module")
def context(
    tmp_path_factory: pytest.TempPathFactory, packable_model: Path, wheel_cache: Path
) -> Path:
    out = tmp_path_factory.mktemp("docker") / "ctx"
    return build_context(packable_model, out, DockerOptions(cache_dir=str(wheel_cache), port=8080))


def test_dockerfile_instructions(context: Path) -> None:
    steps = parse_dockerfile((context / "Dockerfile").read_text())
    kinds = [k for k, _ in steps]
    assert kinds.count("FROM") == 2
    froms = [a for k, a in steps if k == "FROM"]
    assert froms == [f"python:{PY}-slim AS build", f"python:{PY}-slim"]
    runs = [a for k, a in steps if k == "RUN"]
    assert "python /opt/bundle/bootstrap.py install --env /opt/venv" in runs
    assert not any("pip install" in r for r in runs)  # installs only through the bootstrap
    final = steps[kinds.index("FROM", 1) :]
    users = [a for k, a in final if k == "USER"]
    assert users == ["modelpack"] and any("useradd" in a and "10001" in a for k, a in final)
    assert ("EXPOSE", "8080") in final
    health = next(a for k, a in final if k == "HEALTHCHECK")
    assert "http://127.0.0.1:8080/ping" in health and "--interval=" in health
    cmd = json.loads(next(a for k, a in final if k == "CMD"))
    assert cmd == [
        "python",
        "-m",
        "modelpack",
        "serve",
        "/opt/model",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
    ]
    copies = [a for k, a in final if k == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in copies and "bundle/model /opt/model" in copies
    assert kinds.index("USER", kinds.index("FROM", 1)) > max(
        i for i, k in enumerate(kinds) if k in ("COPY", "RUN")
    )  # the server runs unprivileged: USER comes after every COPY and RUN


def test_context_holds_only_the_models_requirements(context: Path) -> None:
    from modelpack import _env

    lock = {e.name for e in _env.read_lock(context / "bundle" / "requirements.lock")}
    assert {"scikit-learn", "numpy", "modelpack", "uvicorn", "httptools", "orjson"} <= lock
    # The image only serves: batch scoring's libraries come in only as far as the installed
    # serve extra names them (pandas and pyarrow read CSV and Parquet request bodies).
    serve = set(_env.requirement_names(_extra("serve")))
    assert not ({"pyarrow", "pandas"} - serve) & lock
    assert not {"xgboost", "xgboost-cpu", "mlflow", "pytest", "pyspark", "conda-pack"} & lock
    wheels = list((context / "bundle" / "wheelhouse").glob("*.whl"))
    assert len(wheels) == len(lock)
    assert all(("manylinux" in w.name or "none-any" in w.name) for w in wheels)
    assert (context / ".dockerignore").read_text().splitlines() == [
        "bundle/.env",
        "bundle/.modelpack-lib",
    ]


def test_linux_platforms_cover_older_manylinux() -> None:
    tags = linux_platforms("x86_64")
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in tags
    assert tags[-1] == "manylinux2014_x86_64"


def test_non_empty_output_is_refused(tmp_path: Path, packable_model: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "mine").write_text("keep")
    with pytest.raises(ModelpackError, match="not empty"):
        build_context(packable_model, tmp_path / "ctx", DockerOptions())
    assert [p.name for p in (tmp_path / "ctx").iterdir()] == ["mine"]


@pytest.mark.slow
def test_the_images_install_and_serve_steps_outside_docker(
    tmp_path: Path, context: Path, taxi: Any, taxi_dv_lr: Any, http: Any
) -> None:
    steps = parse_dockerfile((context / "Dockerfile").read_text())
    install = next(a for k, a in steps if k == "RUN" and "bootstrap.py install" in a)
    # The build stage's command, with the image's paths mapped onto this machine. No uv in
    # the image, so none here either: venv + pip, as in Docker.
    argv = shlex.split(
        install.replace("/opt/bundle", str(context / "bundle")).replace(
            "/opt/venv", str(tmp_path / "venv")
        )
    )
    argv[0] = sys.executable
    env = http.no_network_env(with_uv=False)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "pip install" in done.stderr and "--no-index" in done.stderr

    cmd = json.loads(next(a for k, a in steps if k == "CMD"))
    port = http.free_port()
    cmd = [str(tmp_path / "venv/bin/python"), *cmd[1:]]
    cmd[cmd.index("/opt/model")] = str(context / "bundle" / "model")
    cmd[cmd.index("0.0.0.0")] = "127.0.0.1"
    cmd[cmd.index("8080")] = str(port)
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path
    )
    try:
        url = f"http://127.0.0.1:{port}"
        http.wait_ready(url, proc, timeout=60)
        _, records, _ = taxi
        dv, lr = taxi_dv_lr
        answer = http.post_json(f"{url}/invocations", {"dataframe_records": records[:5]})
        np.testing.assert_allclose(answer["predictions"], lr.predict(dv.transform(records[:5])))
    finally:
        http.stop(proc)


def _extra(name: str) -> list[str]:
    """The requirements the installed modelpack's extra ``name`` adds."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    out = []
    for line in requires("modelpack") or []:
        req = Requirement(line)
        if req.marker is not None and req.marker.evaluate({"extra": name}):
            out.append(req.name)
    return out
