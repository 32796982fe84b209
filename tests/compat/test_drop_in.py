"""MLflow users change the import and keep their code.

Each script in ``scripts/`` is written against MLflow's API only. It runs twice in real
subprocesses on its own SQLite store: as it is, with real MLflow, and with the imports changed
to modelpack (``import mlflow`` -> ``import modelpack as mlflow``, ``from mlflow.X`` -> ``from
modelpack.X``). Both write a JSON summary of what a user would look at (selected runs, params,
metrics, artifacts, registered versions, stages, aliases, predictions); the summaries must be
equal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.mlflow, pytest.mark.slow]
pytest.importorskip("mlflow")

SCRIPTS = Path(__file__).parent / "scripts"
NAMES = sorted(p.stem for p in SCRIPTS.glob("*.py"))


def as_modelpack(source: str) -> str:
    """The user's one change: the imports."""
    source = re.sub(r"^import mlflow$", "import modelpack as mlflow", source, flags=re.M)
    source = re.sub(r"^import mlflow\.(\w+)$", r"import modelpack.\1", source, flags=re.M)
    return re.sub(r"^from mlflow([.\w]*) import ", r"from modelpack\1 import ", source, flags=re.M)


def _run(source: str, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True)
    script = workdir / "script.py"
    script.write_text(source)
    summary = workdir / "summary.json"
    env = {
        **os.environ,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "PYTHONWARNINGS": "ignore",
    }
    for var in ("MODELPACK_STORE_URI", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(var, None)
    done = subprocess.run(
        [sys.executable, str(script), f"sqlite:///{workdir / 'store.db'}", str(summary)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-6000:]}"
    return json.loads(summary.read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """What real MLflow gives for every script (run once per test session)."""
    root = tmp_path_factory.mktemp("mlflow-reference")
    return {name: _run((SCRIPTS / f"{name}.py").read_text(), root / name) for name in NAMES}


def test_the_rewrite_changes_only_imports() -> None:
    source = "import mlflow\nimport mlflow.sklearn\nfrom mlflow.entities import ViewType\nx = 1\n"
    assert as_modelpack(source) == (
        "import modelpack as mlflow\nimport modelpack.sklearn\n"
        "from modelpack.entities import ViewType\nx = 1\n"
    )


@pytest.mark.parametrize("name", NAMES)
def test_script_gives_what_mlflow_gives(
    name: str, reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    ours = _run(as_modelpack((SCRIPTS / f"{name}.py").read_text()), tmp_path / name)
    expected = reference[name]
    assert ours.keys() == expected.keys()
    different = {k: (ours[k], expected[k]) for k in expected if ours[k] != expected[k]}
    assert not different, json.dumps(different, indent=1)
