"""Entry point shipped inside every bundle as ``bootstrap.py`` (standard library only).

Usage, from the unpacked bundle (the ``serve`` and ``predict`` scripts call it)::

    python3 bootstrap.py verify                 # check every file against BUNDLE.json
    python3 bootstrap.py install [--env DIR]    # verify, then create the environment offline
    python3 bootstrap.py serve [ARGS...]        # install if needed, then modelpack serve
    python3 bootstrap.py predict [ARGS...]      # install if needed, then modelpack predict

The environment is created once, in ``.env`` beside this file (or ``--env`` /
``MODELPACK_ENV_DIR``), without any network access: from the bundled wheelhouse with
``--no-index --require-hashes``, or, for a conda bundle, by unpacking the packed conda
environment and running its ``conda-unpack``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = "BUNDLE.json"
_MARKER = ".modelpack-bundle"
_ENV_NAMES = (".env", ".modelpack-lib")  # created here by install, never in the manifest


class BundleError(Exception):
    """The bundle is damaged, or the environment cannot be created."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def read_manifest(root: Path = HERE) -> dict:
    try:
        return json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BundleError(f"{root / MANIFEST} is missing or unreadable: {e}") from e


def problems(root: Path = HERE) -> list[str]:
    """Every file that is missing, modified, or present but not listed."""
    files: dict[str, str] = read_manifest(root)["files"]
    out = [f"{rel}: missing" for rel in sorted(files) if not (root / rel).is_file()]
    out += [
        f"{rel}: modified (SHA-256 differs from {MANIFEST})"
        for rel in sorted(files)
        if (root / rel).is_file() and _sha256(root / rel) != files[rel]
    ]
    for dirpath, dirs, names in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirs[:] = [d for d in dirs if d not in _ENV_NAMES]
        for name in names:
            rel = (rel_dir / name).as_posix()
            if rel not in files and rel != MANIFEST and "__pycache__" not in rel:
                out.append(f"{rel}: not listed in {MANIFEST} (added after packing)")
    return out


def verify(root: Path = HERE) -> None:
    found = problems(root)
    if found:
        raise BundleError(
            f"the bundle at {root} does not match its {MANIFEST}:\n  "
            + "\n  ".join(found)
            + "\nIt was modified or damaged after packing; unpack a fresh copy of the archive."
        )


def _env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _offline_environ() -> dict[str, str]:
    """The environment for installers: no index, find-links or config from the machine."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    environ.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_CONFIG="1")
    return environ


def _run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr)
    if subprocess.run(cmd, check=False, env=_offline_environ()).returncode != 0:
        raise BundleError(f"command failed: {' '.join(cmd)}")


def _check_python(manifest: dict) -> None:
    want = str(manifest.get("python", ""))
    have = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if want and want != have:
        raise BundleError(
            f"this bundle needs Python {want} (its wheels are built for it), but {sys.executable} "
            f"is Python {have}; run it with PYTHON=python{want} ./serve"
        )


def _install_wheelhouse(root: Path, env: Path) -> None:
    lock = root / "requirements.lock"
    wheels = root / "wheelhouse"
    uv = shutil.which("uv")
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(env)])
        _run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(_env_python(env)),
                "--no-index",
                "--find-links",
                str(wheels),
                "--require-hashes",
                "-r",
                str(lock),
            ]
        )
    else:
        _run([sys.executable, "-m", "venv", str(env)])
        _run(
            [
                str(_env_python(env)),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
                "--find-links",
                str(wheels),
                "--require-hashes",
                "-r",
                str(lock),
            ]
        )


def _modelpack_wheel(root: Path) -> Path:
    found = sorted((root / "wheelhouse").glob("modelpack-*.whl"))
    if not found:
        raise BundleError("the bundle has no modelpack wheel in wheelhouse/")
    return found[-1]


def _install_conda(root: Path, env: Path, manifest: dict) -> None:
    # The bundled modelpack wheel is pure Python: on sys.path it provides safe extraction.
    wheel = _modelpack_wheel(root)
    sys.path.insert(0, str(wheel))
    from modelpack.pack._archive import safe_extract

    # No expansion caps here: these archives were verified against BUNDLE.json, and whoever
    # runs this script already runs the bundle's own code (a conda environment can also hold
    # far more than the 100,000 files `modelpack unpack` allows by default).
    safe_extract(root / str(manifest["conda_env"]), env, max_size=None, max_files=None)
    python = _env_python(env)
    unpack = env / ("Scripts/conda-unpack-script.py" if os.name == "nt" else "bin/conda-unpack")
    _run([str(python if python.exists() else sys.executable), str(unpack)])
    # modelpack itself goes beside the environment, first on PYTHONPATH at run time, so the
    # exact modelpack that packed the model serves it whatever the environment holds.
    safe_extract(wheel, root / ".modelpack-lib", max_size=None, max_files=None)


def install(root: Path = HERE, env: Path | None = None) -> Path:
    """Create the environment (once) and return its directory."""
    manifest = read_manifest(root)
    env = env or Path(os.environ.get("MODELPACK_ENV_DIR") or root / ".env")
    stamp = manifest.get("files", {}).get("requirements.lock") or manifest.get("conda_env", "")
    marker = env / _MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == str(stamp):
        return env
    verify(root)
    if env.exists() and any(env.iterdir()):
        # Only ever replace an environment (an interrupted install of ours): never a folder
        # that --env or MODELPACK_ENV_DIR happened to name.
        if not any((env / name).exists() for name in ("pyvenv.cfg", "conda-meta", _MARKER)):
            raise BundleError(f"{env} exists and is not an environment; choose another --env")
        shutil.rmtree(env)
    if manifest.get("kind") == "conda":
        _install_conda(root, env, manifest)
    else:
        _check_python(manifest)
        _install_wheelhouse(root, env)
    marker.write_text(str(stamp), encoding="utf-8")
    return env


def run(command: str, args: list[str], root: Path = HERE, env: Path | None = None) -> None:
    env = install(root, env)
    manifest = read_manifest(root)
    python = str(_env_python(env))
    if not Path(python).exists():
        python = sys.executable
    environ = dict(os.environ)
    lib = root / ".modelpack-lib"
    if lib.is_dir():
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(lib), environ.get("PYTHONPATH")]))
    model = str(root / str(manifest.get("model", "model")))
    argv = [python, "-m", "modelpack", command, model, *args]
    if os.name == "nt":  # pragma: no cover - no exec on Windows: wait for the child instead
        sys.exit(subprocess.run(argv, env=environ, check=False).returncode)
    os.execve(python, argv, environ)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("verify", "install", "serve", "predict"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "verify":
            verify()
            print(f"OK   every file matches {MANIFEST}")
        elif command == "install":
            env = Path(rest[1]) if rest[:1] == ["--env"] and len(rest) > 1 else None
            print(f"environment ready: {install(env=env)}")
        else:
            run(command, rest)
    except BundleError as e:
        print(f"bundle: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
