"""Requirement inference and the lock: exact, local helpers bundled, test tools never listed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack import _env, _requirements
from modelpack.exceptions import ModelpackWarning

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter with only ``cwd`` (not the repository's tests) importable."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(code), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _requirements_of(model_dir: Path) -> list[str]:
    return _env.requirement_names((model_dir / "requirements.txt").read_text().splitlines())


_SAVE_WITH_HELPER = """
    import sys
    import numpy as np, pandas as pd
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.linear_model import LinearRegression
    import modelpack
    from {module} import {func}

    X = pd.DataFrame({{"trip_distance": np.arange(1.0, 21.0), "passengers": np.arange(20.0)}})
    pre = FunctionTransformer({func}).fit(X)
    lr = LinearRegression().fit(pre.transform(X), 3 * np.log1p(X["trip_distance"]))
    modelpack.save_model(lr, sys.argv[1], preprocessor=pre)
"""
_LOAD_AND_PREDICT = """
    import sys, json
    import pandas as pd, numpy as np
    import modelpack
    m = modelpack.load_model(sys.argv[1])
    X = pd.DataFrame({"trip_distance": [1.0, 5.0], "passengers": [0.0, 1.0]})
    print(json.dumps(np.asarray(m.predict(X)).tolist()))
"""


def test_helper_module_is_bundled_and_loads_elsewhere(tmp_path: Path) -> None:
    src = tmp_path / "project"
    src.mkdir()
    (src / "features.py").write_text(
        "import numpy as np\n\n"
        "def log_distance(X):\n"
        "    X = X.copy()\n"
        "    X['trip_distance'] = np.log1p(X['trip_distance'])\n"
        "    return X\n"
    )
    model_dir = tmp_path / "model"
    _run(_SAVE_WITH_HELPER.format(module="features", func="log_distance"), src, str(model_dir))
    assert (model_dir / "code" / "features.py").is_file()
    reqs = _requirements_of(model_dir)
    assert "features" not in reqs
    assert {"scikit-learn", "numpy", "pandas", "modelpack"} <= set(reqs)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = _run(_LOAD_AND_PREDICT, elsewhere, str(model_dir))
    assert json.loads(out.stdout) == pytest.approx([3 * 0.6931471805599453, 3 * 1.791759469228055])


def test_local_package_module_bundles_only_what_it_imports(tmp_path: Path) -> None:
    src = tmp_path / "project"
    pkg = src / "featlib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_util.py").write_text("import numpy as np\n\ndef lg(v):\n    return np.log1p(v)\n")
    (pkg / "transforms.py").write_text(
        "from ._util import lg\n\n"
        "def log_distance(X):\n"
        "    X = X.copy()\n"
        "    X['trip_distance'] = lg(X['trip_distance'])\n"
        "    return X\n"
    )
    (pkg / "unrelated.py").write_text("import this_is_not_installed\n")
    model_dir = tmp_path / "model"
    _run(
        _SAVE_WITH_HELPER.format(module="featlib.transforms", func="log_distance"),
        src,
        str(model_dir),
    )
    bundled = sorted(
        p.relative_to(model_dir / "code").as_posix() for p in (model_dir / "code").rglob("*.py")
    )
    assert bundled == ["featlib/__init__.py", "featlib/_util.py", "featlib/transforms.py"]
    out = _run(_LOAD_AND_PREDICT, tmp_path, str(model_dir))
    assert json.loads(out.stdout)[0] == pytest.approx(3 * 0.6931471805599453)


def test_tools_imported_while_saving_are_never_listed(tmp_path: Path) -> None:
    # Prefer the real IPython; it is not a dependency of modelpack, so when it is absent an
    # imported module of that name is stood in for by a bare module object.
    real_ipython = importlib.util.find_spec("IPython") is not None
    code = f"""
        import sys, types
        import pytest, _pytest
        if {real_ipython!r}:
            import IPython
        else:
            sys.modules["IPython"] = types.ModuleType("IPython")
        import numpy as np
        from sklearn.linear_model import LinearRegression
        import modelpack
        X = np.arange(20.0).reshape(10, 2)
        modelpack.save_model(LinearRegression().fit(X, X[:, 0]), sys.argv[1])
    """
    model_dir = tmp_path / "model"
    _run(code, tmp_path, str(model_dir))
    text = (model_dir / "requirements.txt").read_text() + (
        model_dir / "requirements.lock"
    ).read_text()
    for tool in ("pytest", "ipython", "pluggy", "iniconfig", "ipykernel"):
        assert tool not in text.lower()
    assert not (model_dir / "code").exists()


def test_function_pickled_by_value_lists_the_modules_it_uses(tmp_path: Path) -> None:
    # A function defined in a script is pickled by value; the modules its globals refer to
    # are recorded by cloudpickle as imports, which the opcode walk reads.
    code = """
        import sys
        import scipy.special as sp
        import modelpack

        def predict(data):
            return sp.expit(data)

        modelpack.save_model(predict, sys.argv[1])
    """
    model_dir = tmp_path / "model"
    _run(code, tmp_path, str(model_dir))
    assert {"scipy", "cloudpickle", "modelpack"} <= set(_requirements_of(model_dir))


def test_xgboost_maps_to_the_installed_distribution(tmp_path: Path, taxi_booster: Any) -> None:
    info = modelpack.save_model(taxi_booster, tmp_path / "model")
    reqs = _requirements_of(Path(info.model_dir))
    installed = "xgboost-cpu" if _env.installed_version("xgboost-cpu") else "xgboost"
    assert installed in reqs
    assert ({"xgboost", "xgboost-cpu"} - {installed}).isdisjoint(reqs)


def test_unresolvable_module_is_named_in_a_warning(tmp_path: Path) -> None:
    import cloudpickle

    src = tmp_path / "src"
    src.mkdir()
    (src / "ghost_mod.py").write_text("class Thing:\n    pass\n")
    sys.path.insert(0, str(src))
    try:
        import ghost_mod

        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "obj.pkl").write_bytes(cloudpickle.dumps(ghost_mod.Thing()))
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("ghost_mod", None)
    with pytest.warns(ModelpackWarning, match="'ghost_mod'"):
        result = _requirements.infer(tmp_path / "m")
    assert result.unresolved == ["ghost_mod"]


def test_pickle_and_skops_module_readers(tmp_path: Path, taxi_dv_lr: Any) -> None:
    import pickle

    import skops.io as sio

    dv, lr = taxi_dv_lr
    (tmp_path / "a.pkl").write_bytes(pickle.dumps([dv, lr, dv], protocol=5))
    (tmp_path / "b.skops").write_bytes(sio.dumps(lr))
    from_pickle = _requirements.modules_in_pickle(tmp_path / "a.pkl")
    assert "sklearn.linear_model._base" in from_pickle
    assert "sklearn.feature_extraction._dict_vectorizer" in from_pickle
    assert any(m.startswith("numpy") for m in from_pickle)
    assert "sklearn.linear_model._base" in _requirements.modules_in_skops(tmp_path / "b.skops")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    assert _requirements.modules_in_pickle(tmp_path / "junk.pkl") == set()


def test_lock_pins_the_installed_closure(taxi_model_dir: Path) -> None:
    entries = _env.read_lock(taxi_model_dir / "requirements.lock")
    pinned = {e.name: e.version for e in entries}
    for name in ("scikit-learn", "scipy", "joblib", "threadpoolctl", "numpy", "pyyaml"):
        assert pinned[name] == _env.installed_version(name), name
    assert "modelpack" not in pinned  # not on PyPI: installed from a wheel (see env create)
    assert "# modelpack==" in (taxi_model_dir / "requirements.lock").read_text()
    top = set(_requirements_of(taxi_model_dir)) - {"modelpack"}
    assert top <= set(pinned)


def test_lock_writes_hashes_only_when_every_distribution_has_one(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name, hashed in (("alpha", True), ("beta", False)):
        info = site / f"{name}-1.0.dist-info"
        info.mkdir(parents=True)
        deps = "Requires-Dist: beta>=1\n" if name == "alpha" else ""
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{deps}\n"
        )
        if hashed:
            (info / "direct_url.json").write_text(
                json.dumps(
                    {
                        "url": "https://x/alpha.whl",
                        "archive_info": {"hashes": {"sha256": "ab" * 32}},
                    }
                )
            )
    sys.path.insert(0, str(site))
    try:
        entries, missing = _env.lock(["alpha", "gamma-not-installed"])
        _env.write_lock(tmp_path, ["alpha"])
    finally:
        sys.path.remove(str(site))
    assert [(e.name, e.hashes) for e in entries] == [
        ("alpha", ("sha256:" + "ab" * 32,)),
        ("beta", ()),
    ]
    assert missing == ["gamma-not-installed"]
    assert "--hash" not in (tmp_path / "requirements.lock").read_text()  # beta has none
