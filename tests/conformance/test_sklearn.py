"""The sklearn flavor through the conformance suite."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack.sklearn

from . import FlavorConformance, assert_same_predictions

EXAMPLE_ROWS = 8


class _SklearnConformance(FlavorConformance):
    @pytest.fixture
    def flavor_name(self) -> str:
        return "sklearn"

    @pytest.fixture
    def load_native(self) -> Callable[[Path], Any]:
        return modelpack.sklearn.load_model


class TestDictVectorizerLinearRegression(_SklearnConformance):
    """The course workflow: a LinearRegression on DictVectorizer output, the DictVectorizer
    bundled as the preprocessor, predicting from raw records."""

    @pytest.fixture
    def model_object(self, taxi_dv_lr: Any) -> Any:
        return taxi_dv_lr[1]

    @pytest.fixture
    def save_model(self, taxi_dv_lr: Any) -> Callable[..., Any]:
        return functools.partial(modelpack.sklearn.save_model, preprocessor=taxi_dv_lr[0])

    @pytest.fixture
    def example_input(self, taxi: Any) -> Any:
        return taxi[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def expected(self, taxi_dv_lr: Any, example_input: Any) -> Any:
        dv, lr = taxi_dv_lr
        return lr.predict(dv.transform(example_input.to_dict(orient="records")))

    @pytest.fixture
    def native_check(self, taxi_dv_lr: Any, example_input: Any, expected: Any) -> Any:
        from sklearn.linear_model import LinearRegression

        dv, _ = taxi_dv_lr

        def check(native: Any) -> None:
            assert type(native) is LinearRegression
            rows = dv.transform(example_input.to_dict(orient="records"))
            assert_same_predictions(native.predict(rows), expected)

        return check

    @pytest.fixture
    def required_packages(self) -> list[str]:
        return ["scikit-learn", "skops"]


class TestDictVectorizerCloudpickle(TestDictVectorizerLinearRegression):
    """The same model stored with cloudpickle instead of skops."""

    @pytest.fixture
    def save_model(self, taxi_dv_lr: Any) -> Callable[..., Any]:
        return functools.partial(
            modelpack.sklearn.save_model,
            preprocessor=taxi_dv_lr[0],
            serialization_format="cloudpickle",
        )

    @pytest.fixture
    def required_packages(self) -> list[str]:
        # The model is pickled; the bundled DictVectorizer is still stored with skops.
        return ["scikit-learn", "cloudpickle", "skops"]


class TestScalerPipelineOnDataFrame(_SklearnConformance):
    """A Pipeline(StandardScaler, LinearRegression) fitted on a DataFrame with named columns."""

    @pytest.fixture
    def model_object(self, taxi_numeric: Any) -> Any:
        from sklearn.linear_model import LinearRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        frame, y = taxi_numeric
        return make_pipeline(StandardScaler(), LinearRegression()).fit(frame, y)

    @pytest.fixture
    def example_input(self, taxi_numeric: Any) -> Any:
        return taxi_numeric[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def expected(self, model_object: Any, example_input: Any) -> Any:
        return model_object.predict(example_input)

    @pytest.fixture
    def native_check(self, example_input: Any, expected: Any) -> Any:
        from sklearn.pipeline import Pipeline

        def check(native: Any) -> None:
            assert type(native) is Pipeline
            assert [name for name, _ in native.steps] == ["standardscaler", "linearregression"]
            assert_same_predictions(native.predict(example_input), expected)

        return check

    @pytest.fixture
    def required_packages(self) -> list[str]:
        return ["scikit-learn", "skops", "pandas"]


class TestClassifierPredictProba(_SklearnConformance):
    """A classifier whose predict calls predict_proba."""

    @pytest.fixture
    def model_object(self, taxi_numeric: Any) -> Any:
        from sklearn.linear_model import LogisticRegression

        frame, y = taxi_numeric
        return LogisticRegression().fit(frame, y > np.median(y))

    @pytest.fixture
    def save_model(self) -> Callable[..., Any]:
        return functools.partial(modelpack.sklearn.save_model, predict_method="predict_proba")

    @pytest.fixture
    def example_input(self, taxi_numeric: Any) -> Any:
        return taxi_numeric[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def expected(self, model_object: Any, example_input: Any) -> Any:
        return model_object.predict_proba(example_input)

    @pytest.fixture
    def native_check(self, example_input: Any, expected: Any) -> Any:
        from sklearn.linear_model import LogisticRegression

        def check(native: Any) -> None:
            assert type(native) is LogisticRegression
            assert_same_predictions(native.predict_proba(example_input), expected)

        return check

    @pytest.fixture
    def required_packages(self) -> list[str]:
        return ["scikit-learn", "skops"]
