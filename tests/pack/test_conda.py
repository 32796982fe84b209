"""conda-pack bundles, on a small conda-style prefix built here (no conda channel is reachable).

The prefix has what conda-pack reads: ``conda-meta/*.json`` records listing each package's
files (without a package cache, as after ``conda clean``), a ``bin/python``, a script whose
shebang names the prefix and a text file that embeds it. The tests check that modelpack
drives conda-pack correctly, and that after unpacking elsewhere ``conda-unpack`` (run by the
bundle's bootstrap) has replaced the old prefix with the new location.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from modelpack.exceptions import ModelpackError
from modelpack.pack._bundle import PackOptions, pack, unpack

pytest.importorskip("conda_pack")

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _record(prefix: Path, name: str, version: str, files: list[str]) -> None:
    meta = {
        "name": name,
        "version": version,
        "build": "h0_0",
        "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64",
        "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-{version}-h0_0.conda",
        "files": files,
        "link": None,
        "depends": [],
    }
    (prefix / "conda-meta" / f"{name}-{version}-h0_0.json").write_text(json.dumps(meta))


def make_prefix(prefix: Path) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta/history").write_text("==> 2024-05-01 10:00:00 <==\n# cmd: conda create\n")
    (prefix / "bin").mkdir()
    (prefix / "etc").mkdir()
    (prefix / f"lib/python{PY}/site-packages").mkdir(parents=True)
    # bin/python stands in for conda's interpreter by running this one.
    (prefix / "bin/python").write_text(
        f'#!/bin/sh\nexec "{os.path.realpath(sys.executable)}" "$@"\n'
    )
    (prefix / "bin/python").chmod(0o755)
    (prefix / f"lib/python{PY}/site-packages/marker.txt").write_text("site\n")
    (prefix / "bin/tool").write_text(f"#!{prefix}/bin/python\nprint('tool ran')\n")
    (prefix / "bin/tool").chmod(0o755)
    (prefix / "etc/tool.cfg").write_text(f"home = {prefix}/share/tool\ncache = {prefix}/var\n")
    _record(prefix, "python", f"{PY}.0", ["bin/python", f"lib/python{PY}/site-packages/marker.txt"])
    _record(prefix, "tool", "1.0", ["bin/tool", "etc/tool.cfg"])
    return prefix


def test_conda_bundle_is_packed_and_prefixes_rewritten(
    tmp_path: Path, packable_model: Path
) -> None:
    # A long, distinctive old prefix, so any leftover is easy to spot.
    old = make_prefix(tmp_path / "build-machine" / "envs" / "churn-model-env")
    archive = pack(
        packable_model,
        tmp_path / "dist" / "churn-conda.tar.gz",
        PackOptions(env="conda", conda_prefix=str(old)),
    )
    root = unpack(archive, tmp_path / "target-machine")
    manifest = json.loads((root / "BUNDLE.json").read_text())
    assert manifest["kind"] == "conda" and manifest["conda_env"] == "conda-env.tar.gz"
    assert not (root / "requirements.lock").exists()
    assert [p.name for p in (root / "wheelhouse").iterdir()] == ["modelpack-0.1.0-py3-none-any.whl"]
    with tarfile.open(root / "conda-env.tar.gz") as tf:
        names = set(tf.getnames())
    assert {
        "bin/tool",
        "etc/tool.cfg",
        "bin/conda-unpack",
        "conda-meta/tool-1.0-h0_0.json",
    } <= names

    proc = subprocess.run(
        [sys.executable, str(root / "bootstrap.py"), "install"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env = root / ".env"
    cfg = (env / "etc/tool.cfg").read_text()
    assert cfg == f"home = {env}/share/tool\ncache = {env}/var\n"
    assert str(old) not in (env / "bin/tool").read_text()
    ran = subprocess.run(
        [str(env / "bin/tool")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": f"{env / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    assert ran.stdout.strip() == "tool ran", ran.stderr
    # modelpack is shipped beside the environment and goes first on PYTHONPATH at run time.
    lib = root / ".modelpack-lib"
    out = subprocess.run(
        [str(env / "bin/python"), "-c", "import modelpack; print(modelpack.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(lib)},
        cwd=tmp_path,
    )
    assert out.stdout.strip() == str(lib / "modelpack" / "__init__.py")
    # The verification still passes: the environment lives beside the listed files.
    assert (
        subprocess.run(
            [sys.executable, str(root / "bootstrap.py"), "verify"], capture_output=True, check=False
        ).returncode
        == 0
    )


def test_auto_picks_conda_only_for_a_conda_prefix(tmp_path: Path) -> None:
    from modelpack.pack._bundle import _env_kind

    prefix = make_prefix(tmp_path / "env")
    assert _env_kind(PackOptions(env="auto", conda_prefix=str(prefix))) == "conda"
    assert _env_kind(PackOptions(env="auto", conda_prefix=str(tmp_path))) == "wheelhouse"


def test_not_a_conda_env_is_a_clear_error(tmp_path: Path, packable_model: Path) -> None:
    with pytest.raises(ModelpackError, match="not a conda environment"):
        pack(
            packable_model,
            tmp_path / "x.tar.gz",
            PackOptions(env="conda", conda_prefix=str(tmp_path)),
        )
    assert not (tmp_path / "x.tar.gz").exists()
