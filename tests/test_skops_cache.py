"""Importing skops.io with the cached trusted sklearn names: same trust, fewer imports.

Each case runs in a fresh interpreter, because what is measured is what a fresh process
imports and what skops ends up trusting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._skops import cache_dir

pytest.importorskip("skops")

PROBE = """
import json, sys
import modelpack
model = modelpack.load_model(sys.argv[1])
model.predict([[1.0, 2.0, 3.0]])
import sklearn.utils, sklearn.utils.discovery
from skops.io import _trusted_types as tt
print(json.dumps({
    "names": tt.SKLEARN_ESTIMATOR_TYPE_NAMES,
    "all_imported": "sklearn.gaussian_process" in sys.modules,
    "restored": tt.all_estimators is sklearn.utils.discovery.all_estimators
        and sklearn.utils.all_estimators is sklearn.utils.discovery.all_estimators,
}))
"""


@pytest.fixture(scope="module")
def linear_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    x = np.arange(30.0).reshape(10, 3)
    path = tmp_path_factory.mktemp("skops") / "linear"
    modelpack.save_model(LinearRegression().fit(x, x.sum(axis=1)), path)
    return path


def _probe(model: Path, cache: Path, enabled: str = "1") -> dict[str, Any]:
    env = {**os.environ, "MODELPACK_CACHE_DIR": str(cache), "MODELPACK_SKOPS_CACHE": enabled}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(model)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("skops-trusted-*.json")) if cache.exists() else []


def test_cache_gives_skops_the_same_trusted_names(linear_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = _probe(linear_dir, cache, enabled="0")
    assert not _cache_files(cache)  # turned off: nothing written
    assert plain["all_imported"]  # skops' own derivation imports every sklearn module

    first = _probe(linear_dir, cache)  # fills the cache
    (written,) = _cache_files(cache)
    assert json.loads(written.read_text())["names"] == plain["names"]
    assert first["names"] == plain["names"]

    second = _probe(linear_dir, cache)  # uses it
    assert second["names"] == plain["names"]
    assert not second["all_imported"]
    assert second["restored"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: {**d, "names": d["names"] + ["os.system"]}, id="foreign-name"),
        pytest.param(lambda d: {**d, "key": {**d["key"], "sklearn": "0.0"}}, id="other-version"),
        pytest.param(lambda d: {"names": d["names"]}, id="no-key"),
        pytest.param(lambda d: ["not", "a", "mapping"], id="not-a-mapping"),
    ],
)
def test_a_foreign_cache_file_is_ignored(linear_dir: Path, tmp_path: Path, tamper: Any) -> None:
    cache = tmp_path / "cache"
    plain = _probe(linear_dir, cache)
    (written,) = _cache_files(cache)
    written.write_text(json.dumps(tamper(json.loads(written.read_text()))))
    again = _probe(linear_dir, cache)
    assert again["names"] == plain["names"]
    assert again["all_imported"]  # derived afresh, and the file rewritten
    assert json.loads(written.read_text())["names"] == plain["names"]


def test_unreadable_json_and_unwritable_directory(linear_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = _probe(linear_dir, cache)
    (written,) = _cache_files(cache)
    written.write_text("{not json")
    assert _probe(linear_dir, cache)["names"] == plain["names"]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    # The cache directory cannot be created under a regular file: loading still works.
    assert _probe(linear_dir, blocked / "cache")["names"] == plain["names"]


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("MODELPACK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "modelpack"
