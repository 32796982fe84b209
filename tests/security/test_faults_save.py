"""An overwrite save killed at any point leaves the old or the new model at the path; saved
directories get the modes the umask gives.

Each crash is real: a child process saves over an existing model and kills itself with SIGKILL
at a named point (``modelpack._crash``), so no ``finally`` or ``atexit`` runs. Both ways of
replacing a model are covered: the atomic exchange (Linux ``renameat2``) and the two-rename
fallback used elsewhere, which the child selects by clearing ``modelpack._swap._exchange``.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import modelpack
from modelpack import _swap
from modelpack._crash import CRASH_ENV
from modelpack.exceptions import ModelExistsError

# the models below are custom Python models, which load through cloudpickle and say so
pytestmark = pytest.mark.filterwarnings("ignore:loading .* with cloudpickle")

# A custom model keeps the child quick (no scikit-learn import): it predicts its generation.
SAVE = """
import sys
import numpy as np
import modelpack
from modelpack.exceptions import ModelExistsError
import modelpack._swap

class Generation(modelpack.PythonModel):
    input_kind = "any"

    def __init__(self, generation):
        self.generation = generation

    def predict(self, model_input, params=None):
        return np.full(len(model_input), float(self.generation))

path, generation, exchange = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if not exchange:
    modelpack._swap._exchange = None
modelpack.save_model(Generation(generation), path, overwrite=True)
print("saved", flush=True)
"""


def _save(
    path: Path, generation: int, *, exchange: bool = True, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-c", SAVE, str(path), str(generation), "1" if exchange else "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _generation(path: Path) -> int:
    """Load the model at ``path`` and ask it which generation it is."""
    prediction = modelpack.load_model(path).predict(np.zeros((1, 2)))
    return int(np.asarray(prediction)[0])


def _killed(path: Path, point: str, *, exchange: bool) -> None:
    first = _save(path, 1)
    assert first.returncode == 0, first.stderr
    result = _save(path, 2, exchange=exchange, crash_at=point)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "saved" not in result.stdout


def _leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


needs_exchange = pytest.mark.skipif(
    _swap._exchange is None, reason="renameat2(RENAME_EXCHANGE) is not available here"
)


@pytest.mark.parametrize(
    ("point", "exchange", "expected"),
    [
        pytest.param("save-before-move", True, 1, id="before-the-swap"),
        pytest.param("save-after-exchange", True, 2, id="after-the-exchange", marks=needs_exchange),
        pytest.param("save-before-move", False, 1, id="fallback-before-the-first-rename"),
        pytest.param("save-before-removing-old", False, 2, id="fallback-after-both-renames"),
    ],
)
def test_a_killed_overwrite_leaves_a_whole_model(
    tmp_path: Path, point: str, exchange: bool, expected: int
) -> None:
    path = tmp_path / "model"
    _killed(path, point, exchange=exchange)
    assert (path / "MLmodel").is_file()
    assert _leftovers(path)  # what the dead save left: the temporary or the old directory
    assert _generation(path) == expected  # (loading clears an old directory beside a model)

    # the next save of the path succeeds and clears what a finished swap left behind
    assert _save(path, 3, exchange=exchange).returncode == 0
    assert _generation(path) == 3
    assert not [name for name in _leftovers(path) if ".old-" in name]


def test_killed_between_the_two_renames_the_old_model_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "model"
    _killed(path, "save-between-renames", exchange=False)
    assert not path.exists()  # the one instant the fallback cannot avoid
    assert [name for name in _leftovers(path) if ".old-" in name]

    with pytest.warns(UserWarning, match="interrupted save.*restored"):
        assert _swap.recover(path)
    assert _generation(path) == 1
    assert _leftovers(path) == [n for n in _leftovers(path) if ".saving-" in n]
    assert not _swap.recover(path)  # nothing more to do


def test_the_next_save_restores_before_deciding_the_path_is_free(tmp_path: Path) -> None:
    path = tmp_path / "model"
    _killed(path, "save-between-renames", exchange=False)
    # without overwrite, the restored old model makes the path taken
    with pytest.warns(UserWarning, match="restored"), pytest.raises(ModelExistsError):
        modelpack.save_model(lambda frame: frame, path)
    assert _generation(path) == 1


def test_a_load_after_a_crash_between_the_renames_gets_the_old_model(tmp_path: Path) -> None:
    path = tmp_path / "model"
    _killed(path, "save-between-renames", exchange=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert _generation(path) == 1


def test_a_restored_model_is_only_a_complete_one(tmp_path: Path) -> None:
    path = tmp_path / "model"
    partial = tmp_path / ".model.old-abc"
    partial.mkdir()
    (partial / "model.pkl").write_bytes(b"")  # no MLmodel: never put at the path
    assert not _swap.recover(path)
    assert not path.exists()


def test_overwriting_a_model_with_the_fallback_keeps_no_old_directory(tmp_path: Path) -> None:
    path = tmp_path / "model"
    for generation in (1, 2):
        assert _save(path, generation, exchange=False).returncode == 0
    assert _generation(path) == 2
    assert _leftovers(path) == []


# ---------------------------------------------------------------------- umask
UMASK_SAVE = """
import os, sys
import numpy as np
from sklearn.linear_model import LinearRegression
import modelpack
from modelpack.exceptions import ModelExistsError

os.umask(int(sys.argv[2], 8))
X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]])
model = LinearRegression().fit(X, X @ np.array([1.0, 2.0]))
modelpack.save_model(model, sys.argv[1], input_example=X[:2], code_paths=[sys.argv[3]])
"""


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=["022", "077", "002"])
def test_saved_directories_and_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    helper = tmp_path / "helper.py"
    helper.write_text("VALUE = 1\n")
    path = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-c", UMASK_SAVE, str(path), oct(umask)[2:], str(helper)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    dirs = [path] + [p for p in path.rglob("*") if p.is_dir()]
    files = [p for p in path.rglob("*") if p.is_file()]
    assert len(dirs) > 1 and files  # the code/ folder and the model's files
    for d in dirs:
        assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~umask, d
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f


def test_the_umask_is_read_without_changing_it() -> None:
    before = os.umask(0o027)
    try:
        assert _swap.current_umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)
