"""The Python version a model was saved with: what bundles, Docker images and environments target."""

from __future__ import annotations

from pathlib import Path

from modelpack import _env

__all__ = ["model_python"]


def model_python(model_dir: Path) -> str:
    """The ``MAJOR.MINOR`` Python version in the model's ``python_env.yaml``.

    Falls back to the running interpreter's version when the file is missing or unreadable
    (models saved by other tools may not have one).
    """
    import yaml

    try:
        data = yaml.safe_load((model_dir / _env.PYTHON_ENV_FILE).read_text(encoding="utf-8"))
        full = str(data.get("python") or "")
    except (OSError, AttributeError, yaml.YAMLError):
        full = ""
    return ".".join((full or _env.python_version()).split(".")[:2])
