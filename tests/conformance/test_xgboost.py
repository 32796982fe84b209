"""The xgboost flavor through the conformance suite (with the xgboost-cpu distribution)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

import modelpack.xgboost

from . import FlavorConformance, assert_same_predictions

xgb = pytest.importorskip("xgboost")

EXAMPLE_ROWS = 8


class _XGBoostConformance(FlavorConformance):
    @pytest.fixture
    def flavor_name(self) -> str:
        return "xgboost"

    @pytest.fixture
    def load_native(self) -> Callable[[Path], Any]:
        return modelpack.xgboost.load_model

    @pytest.fixture
    def required_packages(self) -> list[str]:
        # "xgboost" or "xgboost-cpu", whichever provides the module here.
        return list(packages_distributions()["xgboost"])


class TestBoosterWithDictVectorizer(_XGBoostConformance):
    """The course workflow: a Booster trained on a DMatrix of DictVectorizer output, predicting
    straight from raw records through the bundled DictVectorizer."""

    @pytest.fixture
    def model_object(self, taxi_booster: Any) -> Any:
        return taxi_booster

    @pytest.fixture
    def save_model(self, taxi_dv_lr: Any) -> Callable[..., Any]:
        return functools.partial(modelpack.xgboost.save_model, preprocessor=taxi_dv_lr[0])

    @pytest.fixture
    def example_input(self, taxi: Any) -> Any:
        return taxi[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def expected(self, taxi_booster: Any, taxi_dv_lr: Any, example_input: Any) -> Any:
        rows = taxi_dv_lr[0].transform(example_input.to_dict(orient="records"))
        return taxi_booster.predict(xgb.DMatrix(rows))

    @pytest.fixture
    def native_check(self, taxi_dv_lr: Any, example_input: Any, expected: Any) -> Any:
        def check(native: Any) -> None:
            assert type(native) is xgb.Booster
            rows = taxi_dv_lr[0].transform(example_input.to_dict(orient="records"))
            assert_same_predictions(native.predict(xgb.DMatrix(rows)), expected)

        return check

    @pytest.fixture
    def required_packages(self) -> list[str]:
        # The DictVectorizer is a scikit-learn object stored with skops.
        return [*packages_distributions()["xgboost"], "scikit-learn", "skops"]


class TestRegressorOnDataFrame(_XGBoostConformance):
    """An XGBRegressor fitted on a DataFrame; native load gives the XGBRegressor back."""

    @pytest.fixture
    def model_object(self, taxi_numeric: Any) -> Any:
        frame, y = taxi_numeric
        return xgb.XGBRegressor(n_estimators=15, max_depth=3).fit(frame, y)

    @pytest.fixture
    def example_input(self, taxi_numeric: Any) -> Any:
        return taxi_numeric[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def expected(self, model_object: Any, example_input: Any) -> Any:
        return model_object.predict(example_input)

    @pytest.fixture
    def native_check(self, example_input: Any, expected: Any) -> Any:
        def check(native: Any) -> None:
            assert type(native) is xgb.XGBRegressor
            assert_same_predictions(native.predict(example_input), expected)

        return check


class TestBoosterOnDataFrameJson(_XGBoostConformance):
    """A Booster trained on a DataFrame (feature names kept), stored in XGBoost's JSON format."""

    @pytest.fixture
    def model_object(self, taxi_numeric: Any) -> Any:
        frame, y = taxi_numeric
        return xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(frame, label=y), 15)

    @pytest.fixture
    def save_model(self) -> Callable[..., Any]:
        return functools.partial(modelpack.xgboost.save_model, model_format="json")

    @pytest.fixture
    def example_input(self, taxi_numeric: Any) -> Any:
        return taxi_numeric[0].head(EXAMPLE_ROWS)

    @pytest.fixture
    def expected(self, model_object: Any, example_input: Any) -> Any:
        return model_object.predict(xgb.DMatrix(example_input))

    @pytest.fixture
    def native_check(self, example_input: Any, expected: Any) -> Any:
        def check(native: Any) -> None:
            assert type(native) is xgb.Booster
            assert native.feature_names == list(example_input.columns)
            assert_same_predictions(native.predict(xgb.DMatrix(example_input)), expected)

        return check

    def test_stored_as_json(self, saved: Path) -> None:
        import json

        conf = modelpack.load_model(saved).metadata.flavors["xgboost"]
        assert conf["model_format"] == "json"
        json.loads((saved / conf["data"]).read_text())  # XGBoost's own JSON, not a pickle
