"""The conformance suite every flavor runs, built-in or third-party.

:class:`FlavorConformance` holds the tests; a flavor runs them by subclassing it as a
``Test...`` class and providing the fixtures below (the abstract-test-class pattern of fsspec).
It depends only on pytest, numpy, pandas, PyYAML and modelpack's public API, so a flavor package
can run it unchanged.

Fixtures a subclass must provide
--------------------------------
flavor_name
    The flavor's registered name, e.g. ``"sklearn"``.
model_object
    The fitted object to save.
example_input
    A pandas DataFrame of a few rows the model can predict; saved as the input example.
expected
    What the raw object predicts for ``example_input`` (computed without modelpack).
native_check
    ``callable(native)`` asserting that a natively loaded object has the native class and
    predicts ``expected``.
required_packages
    Distribution names ``requirements.txt`` must pin: the flavor's library and the serializer.

Fixtures a subclass may override
--------------------------------
save_model
    ``callable(model, path, *, input_example=None, overwrite=False)`` that saves the model
    (default: ``modelpack.save_model(..., flavor=flavor_name)``). Override it to pass a
    preprocessor or flavor options, e.g. with ``functools.partial``.
load_native
    ``callable(path)`` returning the native object (default: the generic native loader behind
    ``modelpack.<flavor>.load_model``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import modelpack
from modelpack.exceptions import IntegrityError, ModelExistsError, ModelpackWarning

__all__ = ["FlavorConformance", "assert_same_predictions"]


def assert_same_predictions(actual: Any, expected: Any) -> None:
    """Predictions equal up to float rounding, whatever container they come in."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-6, atol=1e-9)


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _files_on_disk(model_dir: Path) -> set[str]:
    return {
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and p.name != "MLmodel" and "__pycache__" not in p.parts
    }


def _dist_key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _abstract(name: str) -> Callable[..., Any]:
    def fixture(self: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must provide the {name!r} fixture to run the modelpack "
            "flavor conformance suite"
        )

    fixture.__name__ = name
    return pytest.fixture(fixture)


class FlavorConformance:
    """Round-trip, signature, environment and integrity tests shared by every flavor."""

    flavor_name = _abstract("flavor_name")
    model_object = _abstract("model_object")
    example_input = _abstract("example_input")
    expected = _abstract("expected")
    native_check = _abstract("native_check")
    required_packages = _abstract("required_packages")

    @pytest.fixture
    def save_model(self, flavor_name: str) -> Callable[..., Any]:
        return functools.partial(modelpack.save_model, flavor=flavor_name)

    @pytest.fixture
    def load_native(self, flavor_name: str) -> Callable[[Path], Any]:
        from modelpack._load import load_native

        return lambda path: load_native(path, flavor_name)

    @pytest.fixture
    def saved(
        self, tmp_path: Path, save_model: Callable[..., Any], model_object: Any, example_input: Any
    ) -> Path:
        """The model saved with its input example. Saving must not warn: a warning here means
        the output schema could not be inferred or a requirement could not be found."""
        path = tmp_path / "model"
        with warnings.catch_warnings():
            warnings.simplefilter("error", ModelpackWarning)
            save_model(model_object, path, input_example=example_input)
        return path

    # ------------------------------------------------------------------ round trip
    def test_load_predicts_like_the_original(
        self, saved: Path, flavor_name: str, example_input: Any, expected: Any
    ) -> None:
        model = modelpack.load_model(saved)
        assert isinstance(model, modelpack.PyFuncModel)
        assert model.flavor == flavor_name
        assert_same_predictions(model.predict(example_input), expected)

    def test_native_load_returns_the_native_object(
        self, saved: Path, load_native: Callable[[Path], Any], native_check: Callable[[Any], None]
    ) -> None:
        native = load_native(saved)
        assert not isinstance(native, modelpack.PyFuncModel)
        native_check(native)

    def test_records_columns_and_frame_predict_the_same(
        self, saved: Path, example_input: Any, expected: Any
    ) -> None:
        model = modelpack.load_model(saved)
        records = example_input.to_dict(orient="records")
        columns = {str(c): example_input[c].tolist() for c in example_input.columns}
        for data in (example_input, records, columns):
            assert_same_predictions(model.predict(data), expected)

    def test_save_without_example_has_no_signature_and_predicts(
        self,
        tmp_path: Path,
        save_model: Callable[..., Any],
        model_object: Any,
        example_input: Any,
        expected: Any,
    ) -> None:
        path = tmp_path / "bare"
        save_model(model_object, path)
        manifest = _read_yaml(path / "MLmodel")
        assert "signature" not in manifest or manifest["signature"] is None
        assert not (path / "input_example.json").exists()
        assert_same_predictions(modelpack.load_model(path).predict(example_input), expected)

    # ------------------------------------------------------------------ signature
    def test_signature_is_inferred_in_mlflow_encoding(
        self, saved: Path, example_input: Any, expected: Any
    ) -> None:
        signature = _read_yaml(saved / "MLmodel")["signature"]
        # MLflow's encoding: each part is a JSON string inside the YAML, params explicitly null.
        assert set(signature) == {"inputs", "outputs", "params"}
        assert isinstance(signature["inputs"], str) and isinstance(signature["outputs"], str)
        assert signature["params"] is None
        inputs = json.loads(signature["inputs"])
        assert [c["name"] for c in inputs] == [str(c) for c in example_input.columns]
        inferred_inputs = modelpack.infer_signature(example_input).inputs
        assert inferred_inputs is not None
        assert inputs == json.loads(inferred_inputs.to_json())
        outputs = json.loads(signature["outputs"])
        inferred_outputs = modelpack.infer_signature(model_output=np.asarray(expected)).outputs
        assert inferred_outputs is not None
        assert outputs == json.loads(inferred_outputs.to_json())

    def test_input_example_is_written_like_mlflow(self, saved: Path, example_input: Any) -> None:
        import pandas as pd

        info = _read_yaml(saved / "MLmodel")["saved_input_example_info"]
        assert info == {
            "artifact_path": "input_example.json",
            "serving_input_path": "serving_input_example.json",
            "type": "dataframe",
            "pandas_orient": "split",
        }
        split = json.loads((saved / "input_example.json").read_text())
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        pd.testing.assert_frame_equal(
            frame, example_input.reset_index(drop=True), check_dtype=False
        )
        serving = json.loads((saved / "serving_input_example.json").read_text())
        assert serving == {"dataframe_split": split}

    # ------------------------------------------------------------------ environment
    def test_requirements_are_pinned(self, saved: Path, required_packages: list[str]) -> None:
        lines = [
            line.strip()
            for line in (saved / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        unpinned = [line for line in lines if "==" not in line]
        assert not unpinned, f"requirements not pinned with ==: {unpinned}"
        names = {_dist_key(line.split("==")[0]) for line in lines}
        missing = {_dist_key(p) for p in [*required_packages, "modelpack"]} - names
        assert not missing, f"requirements.txt lacks {sorted(missing)}: {lines}"
        assert not {n for n in names if n.startswith("pytest")}, lines

    def test_python_env_and_conda_files_have_mlflow_structure(self, saved: Path) -> None:
        requirements = (saved / "requirements.txt").read_text().split()
        python = platform.python_version()

        python_env = _read_yaml(saved / "python_env.yaml")
        assert set(python_env) == {"python", "build_dependencies", "dependencies"}
        assert python_env["python"] == python
        assert all(isinstance(d, str) for d in python_env["build_dependencies"])
        assert python_env["dependencies"] == ["-r requirements.txt"]

        conda = _read_yaml(saved / "conda.yaml")
        assert set(conda) == {"name", "channels", "dependencies"}
        deps = conda["dependencies"]
        assert deps[0] == f"python={python}"
        assert any(isinstance(d, str) and d.startswith("pip") for d in deps)
        pip_sections = [d["pip"] for d in deps if isinstance(d, dict)]
        assert pip_sections == [requirements]

        conf = _read_yaml(saved / "MLmodel")["flavors"]["python_function"]
        assert conf["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
        assert conf["python_version"] == python

    # ------------------------------------------------------------------ integrity
    def test_digests_cover_every_file_and_verify_passes(self, saved: Path) -> None:
        files = _read_yaml(saved / "MLmodel")["modelpack"]["files"]
        assert set(files) == _files_on_disk(saved)
        for rel, digest in files.items():
            assert digest == "sha256:" + hashlib.sha256((saved / rel).read_bytes()).hexdigest()
        done = _run_cli("verify", saved)
        assert done.returncode == 0, done.stdout + done.stderr

    def test_tampered_file_is_refused_naming_it(self, saved: Path, tmp_path: Path) -> None:
        files = sorted(_read_yaml(saved / "MLmodel")["modelpack"]["files"])
        for i, rel in enumerate(files):
            copy = tmp_path / f"tampered-{i}"
            shutil.copytree(saved, copy)
            with open(copy / rel, "ab") as f:
                f.write(b"\n")
            with pytest.raises(IntegrityError) as err:
                modelpack.load_model(copy)
            assert err.value.path == rel
            assert rel in str(err.value)
        done = _run_cli("verify", tmp_path / "tampered-0")
        assert done.returncode != 0
        assert files[0] in done.stdout + done.stderr

    # ------------------------------------------------------------------ safe saves
    def test_overwrite_needs_consent(
        self,
        saved: Path,
        save_model: Callable[..., Any],
        model_object: Any,
        example_input: Any,
        expected: Any,
    ) -> None:
        before = _read_yaml(saved / "MLmodel")["model_uuid"]
        with pytest.raises(ModelExistsError, match="overwrite=True"):
            save_model(model_object, saved, input_example=example_input)
        # The refused save lost nothing and left nothing behind.
        assert _read_yaml(saved / "MLmodel")["model_uuid"] == before
        assert_same_predictions(modelpack.load_model(saved).predict(example_input), expected)
        assert _leftovers(saved) == []

        save_model(model_object, saved, input_example=example_input, overwrite=True)
        assert _read_yaml(saved / "MLmodel")["model_uuid"] != before
        assert_same_predictions(modelpack.load_model(saved).predict(example_input), expected)
        assert _leftovers(saved) == []


def _leftovers(model_dir: Path) -> list[str]:
    """Temporary directories a save left beside the model (they start with ``.<name>``)."""
    return sorted(
        p.name for p in model_dir.parent.iterdir() if p.name.startswith(f".{model_dir.name}")
    )


def _run_cli(*args: Any) -> subprocess.CompletedProcess[str]:
    # A real subprocess: the CLI users run, with the interpreter running the tests.
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
