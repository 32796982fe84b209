"""The python_function flavor through the conformance suite: a PythonModel and a callable."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
import modelpack.pyfunc
from modelpack.pyfunc import PythonModel, PythonModelContext

from . import FlavorConformance, assert_same_predictions

EXAMPLE_ROWS = 8


class ZoneFare(PythonModel):
    """A custom model: a base fare per zone read from an artifact, plus a rate per mile."""

    def load_context(self, context: PythonModelContext) -> None:
        text = Path(context.artifacts["fares"]).read_text(encoding="utf-8")
        self.fares = {zone: float(fare) for zone, fare in (ln.split("=") for ln in text.split())}

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        base = model_input["PU_DO"].map(self.fares).fillna(0.0).to_numpy()
        return base + 2.5 * model_input["trip_distance"].to_numpy()


def fare_estimate(model_input: Any) -> np.ndarray:
    """A plain function saved as a model."""
    return 3.0 + 2.0 * model_input["trip_distance"].to_numpy(dtype=float)


class _PythonFunctionConformance(FlavorConformance):
    @pytest.fixture
    def flavor_name(self) -> str:
        return "python_function"

    @pytest.fixture
    def load_native(self) -> Callable[[Path], Any]:
        # A custom model's native object is the PythonModel, ready to predict.
        return lambda path: modelpack.pyfunc.load_model(path).unwrap_python_model()

    @pytest.fixture
    def example_input(self, taxi: Any) -> Any:
        return taxi[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def required_packages(self) -> list[str]:
        return ["cloudpickle", "pandas"]


class TestPythonModelWithArtifact(_PythonFunctionConformance):
    @pytest.fixture
    def fares_file(self, tmp_path: Path, taxi: Any) -> Path:
        zones = sorted(taxi[0]["PU_DO"].unique())
        path = tmp_path / "fares.txt"
        path.write_text("\n".join(f"{z}={i + 1.5}" for i, z in enumerate(zones)), "utf-8")
        return path

    @pytest.fixture
    def model_object(self) -> Any:
        return ZoneFare()

    @pytest.fixture
    def save_model(self, fares_file: Path) -> Callable[..., Any]:
        return functools.partial(modelpack.pyfunc.save_model, artifacts={"fares": str(fares_file)})

    @pytest.fixture
    def expected(self, fares_file: Path, example_input: Any) -> Any:
        raw = ZoneFare()
        raw.load_context(PythonModelContext(artifacts={"fares": str(fares_file)}))
        return raw.predict(example_input)

    @pytest.fixture
    def native_check(self, example_input: Any, expected: Any) -> Any:
        def check(native: Any) -> None:
            assert type(native) is ZoneFare
            assert_same_predictions(native.predict(example_input), expected)

        return check

    def test_artifact_is_copied_into_the_model(
        self, saved: Path, fares_file: Path, example_input: Any, expected: Any
    ) -> None:
        original = fares_file.read_text("utf-8")
        fares_file.write_text("", "utf-8")  # the model must not read the original any more
        assert (saved / "artifacts" / "fares.txt").read_text("utf-8") == original
        assert_same_predictions(modelpack.load_model(saved).predict(example_input), expected)


class TestPlainCallable(_PythonFunctionConformance):
    @pytest.fixture
    def model_object(self) -> Any:
        return fare_estimate

    @pytest.fixture
    def expected(self, example_input: Any) -> Any:
        return fare_estimate(example_input)

    @pytest.fixture
    def native_check(self, example_input: Any, expected: Any) -> Any:
        def check(native: Any) -> None:
            assert isinstance(native, PythonModel)
            assert_same_predictions(native.predict(example_input), expected)

        return check
