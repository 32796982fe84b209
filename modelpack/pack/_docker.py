"""``modelpack build-docker``: a Docker build context that serves one model.

The context is a bundle (the same files ``modelpack pack`` archives: model, lock, wheelhouse,
``bootstrap.py``) plus a two-stage Dockerfile on ``python:<minor>-slim``. The first stage runs
``bootstrap.py install``, which verifies every file and installs the locked wheels with
``--no-index --require-hashes`` into ``/opt/venv``; the second copies only that environment
and the model, runs as an unprivileged user, exposes the port and checks ``/ping``. Only the
model's own requirements and modelpack's server are installed: no compiler, no index access.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelpack.exceptions import ModelpackError

__all__ = ["DockerOptions", "build_context", "linux_platforms", "render_dockerfile"]

# python:<minor>-slim is Debian bookworm: glibc 2.36.
_BASE_GLIBC = 36


@dataclass(frozen=True)
class DockerOptions:
    platforms: Sequence[str] = ()
    find_links: Sequence[str] = ()
    cache_dir: str | None = None
    port: int = 8080


def linux_platforms(arch: str | None = None, glibc: int = _BASE_GLIBC) -> list[str]:
    """Every manylinux tag a glibc ``2.<glibc>`` system accepts, newest first.

    pip does not widen ``--platform manylinux_2_36_x86_64`` to older tags by itself.
    """
    machine = arch or {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    tags = [f"manylinux_2_{n}_{machine}" for n in range(glibc, 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def render_dockerfile(python: str, port: int) -> str:
    check = (
        "import sys, urllib.request; "
        f"sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{port}/ping', timeout=4)"
        ".status == 200 else 1)"
    )
    return f"""\
# Built by modelpack build-docker. Build with: docker build -t my-model .
FROM python:{python}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
COPY bundle /opt/bundle
# Verifies every file against BUNDLE.json, then installs the locked wheels with no index.
RUN python /opt/bundle/bootstrap.py install --env /opt/venv

FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin modelpack
COPY --from=build /opt/venv /opt/venv
COPY bundle/model /opt/model
USER modelpack
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\
  CMD ["python", "-c", "{check}"]
CMD ["python", "-m", "modelpack", "serve", "/opt/model", "--host", "0.0.0.0", "--port", "{port}"]
"""


def build_context(
    model_uri: str | os.PathLike[str], output: str | os.PathLike[str], options: DockerOptions
) -> Path:
    """Write the build context into ``output`` (new or empty) and return its path."""
    from modelpack._load import open_model
    from modelpack.pack._bundle import PackOptions, assemble

    model_dir, _ = open_model(model_uri)
    out = Path(output).expanduser().absolute()
    if out.exists() and any(out.iterdir()):
        raise ModelpackError(f"{out} exists and is not empty; choose a new -o directory")
    bundle = out / "bundle"
    bundle.mkdir(parents=True)
    try:
        manifest = assemble(
            model_dir,
            bundle,
            PackOptions(
                platforms=list(options.platforms) or linux_platforms(),
                env="wheelhouse",
                extras=("serve",),  # the image only serves: no batch scoring libraries
                find_links=options.find_links,
                cache_dir=options.cache_dir,
                source_uri=str(model_uri),
            ),
        )
    except BaseException:
        shutil.rmtree(bundle, ignore_errors=True)  # no half-made context left behind
        raise
    python = str(manifest["python"])  # read from the bundle's copy of the model
    (out / "Dockerfile").write_text(render_dockerfile(python, options.port), encoding="utf-8")
    (out / ".dockerignore").write_text("bundle/.env\nbundle/.modelpack-lib\n", encoding="utf-8")
    return out
