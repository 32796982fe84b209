"""Subprocess helpers shared by the store tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_python(
    code: str, *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with the current environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m modelpack ARGS`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
