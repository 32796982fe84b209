"""The fluent artifact functions: files, folders, text, dicts, figures and images of a run.

Each writes to ``run_id`` when given, else to the active run (starting one when there is
none), through the same client methods ``MlflowClient`` users call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelpack._store import artifact_parts
from modelpack._tracking import active_run, run_target, start_run

__all__ = [
    "get_artifact_uri",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_text",
]


def log_artifact(
    local_path: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local file into the run's artifacts, under ``artifact_path`` (default: the root).

    Parameters
    ----------
    local_path : str
        The file.
    artifact_path : str, optional
        A folder inside the run, such as ``"preprocessor"``.
    run_id : str, optional
        The run (default: the active one).
    """
    client, target = run_target(run_id)
    client.log_artifact(target, local_path, artifact_path)


def log_artifacts(
    local_dir: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local directory's contents into the run's artifacts, under ``artifact_path``."""
    client, target = run_target(run_id)
    client.log_artifacts(target, local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``text`` as the artifact ``artifact_file``, e.g. ``"notes/summary.txt"``."""
    client, target = run_target(run_id)
    client.log_text(target, text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    """Write a dict as JSON, or YAML when ``artifact_file`` ends in ``.yaml``/``.yml``."""
    client, target = run_target(run_id)
    client.log_dict(target, dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Save a matplotlib or plotly figure as ``artifact_file`` (the suffix picks the format)."""
    client, target = run_target(None)
    client.log_figure(target, figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Save a numpy array (``(H, W)`` or ``(H, W, 1|3|4)``) or a PIL image as ``artifact_file``.

    A ``.png`` needs no extra library; other formats need PIL (``pip install pillow``).
    """
    client, target = run_target(None)
    client.log_image(target, image, artifact_file, key, step, timestamp, synchronous)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """Where the active run's artifacts live (or ``artifact_path`` among them)."""
    run = active_run() or start_run()
    parts = artifact_parts(artifact_path)
    root = run.info.artifact_uri.rstrip("/")
    return "/".join([root, *parts]) if parts else root
