"""XGBoost autologging: xgboost.train and the scikit-learn classes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._autolog import autolog, xgboost_autolog

from ._helpers import all_runs, only_run

pytestmark = pytest.mark.filterwarnings("error")


def _history(run_id: str, key: str) -> list[float]:
    """A metric's values by round; the steps must be the rounds 0, 1, 2, ..."""
    history = modelpack.get_metric_history(run_id, key)
    assert [m.step for m in history] == list(range(len(history)))
    return [m.value for m in history]


@pytest.fixture(scope="module")
def splits(regression: Any) -> tuple[Any, Any, Any, Any]:
    X, y = regression
    return X[:150], y[:150], X[150:], y[150:]


def test_train_logs_params_every_rounds_metrics_and_the_booster(splits: Any) -> None:
    import xgboost as xgb

    X, y, Xv, yv = splits
    dtrain, dvalid = xgb.DMatrix(X, label=y), xgb.DMatrix(Xv, label=yv)
    xgboost_autolog()
    evals_result: dict[str, Any] = {}
    params = {"max_depth": 2, "eta": 0.3, "eval_metric": ["rmse", "mae"]}
    booster = xgb.train(
        params, dtrain, 8, evals=[(dtrain, "train"), (dvalid, "valid")],
        evals_result=evals_result, verbose_eval=False,
    )  # fmt: skip

    run = only_run()
    assert run.data.params["max_depth"] == "2" and run.data.params["eta"] == "0.3"
    assert run.data.params["num_boost_round"] == "8"
    assert run.data.params["verbose_eval"] == "False"
    assert "dtrain" not in run.data.params and "evals" not in run.data.params
    for data in ("train", "valid"):
        for metric in ("rmse", "mae"):
            expected = evals_result[data][metric]
            assert _history(run.run_id, f"{data}-{metric}") == pytest.approx(expected, rel=1e-12)
    assert run.logged_models == ("model",)
    loaded = modelpack.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_allclose(loaded.predict(Xv), booster.predict(dvalid), rtol=1e-6)
    assert type(modelpack.xgboost.load_model(f"runs:/{run.run_id}/model")) is xgb.Booster
    assert loaded.signature is not None


def test_the_callers_callbacks_are_kept_and_not_changed(splits: Any) -> None:
    import xgboost as xgb

    X, y, _, _ = splits
    dtrain = xgb.DMatrix(X, label=y)
    seen: list[int] = []

    class Count(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            seen.append(epoch)
            return False

    callbacks = [Count()]
    xgboost_autolog(log_models=False)
    xgb.train({}, dtrain, 3, evals=[(dtrain, "train")], callbacks=callbacks, verbose_eval=False)
    assert seen == [0, 1, 2] and len(callbacks) == 1
    assert len(_history(only_run().run_id, "train-rmse")) == 3


def test_early_stopping_logs_the_stop_and_the_best_round(splits: Any) -> None:
    import xgboost as xgb

    X, y, Xv, yv = splits
    rng = np.random.default_rng(5)
    noisy = xgb.DMatrix(Xv, label=rng.normal(0, 1, len(yv)))  # stops improving early
    xgboost_autolog(log_models=False)
    booster = xgb.train(
        {"eta": 0.5}, xgb.DMatrix(X, label=y), 200, evals=[(noisy, "valid")],
        early_stopping_rounds=3, verbose_eval=False,
    )  # fmt: skip
    run = only_run()
    history = modelpack.get_metric_history(run.run_id, "valid-rmse")
    rounds, extra = history[:-1], history[-1]
    assert len(rounds) < 200 and [m.step for m in rounds] == list(range(len(rounds)))
    assert run.data.metrics["stopped_iteration"] == len(rounds) - 1
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    # the best round's value again, one step past the last round
    assert extra.step == len(rounds)
    assert extra.value == rounds[booster.best_iteration].value


def test_regressor_fit_logs_eval_set_rounds_and_the_sklearn_model(splits: Any) -> None:
    import xgboost as xgb

    X, y, Xv, yv = splits
    xgboost_autolog(log_input_examples=True)
    model = xgb.XGBRegressor(n_estimators=6, max_depth=3)
    assert model.fit(X, y, eval_set=[(X, y), (Xv, yv)], verbose=False) is model

    run = only_run()
    assert run.data.tags["estimator_name"] == "XGBRegressor"
    assert run.data.params["max_depth"] == "3" and run.data.params["num_boost_round"] == "6"
    results = model.evals_result()
    for name in ("validation_0", "validation_1"):
        expected = results[name]["rmse"]
        assert _history(run.run_id, f"{name}-rmse") == pytest.approx(expected, rel=1e-12)
    native = modelpack.xgboost.load_model(f"runs:/{run.run_id}/model")
    assert type(native) is xgb.XGBRegressor
    loaded = modelpack.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_allclose(loaded.predict(Xv), model.predict(Xv), rtol=1e-6)
    assert loaded.metadata.saved_input_example_info is not None


def test_classifier_in_a_user_run(classification: Any) -> None:
    import xgboost as xgb

    X, y = classification
    xgboost_autolog()
    with modelpack.start_run() as run:
        model = xgb.XGBClassifier(n_estimators=3).fit(X, y, eval_set=[(X, y)], verbose=False)
    logged = only_run()
    assert logged.run_id == run.run_id
    assert len(_history(run.run_id, "validation_0-logloss")) == 3
    loaded = modelpack.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X[:10])), model.predict(X[:10]))


def test_an_xgboost_model_in_a_pipeline_logs_once_as_the_pipeline(regression: Any) -> None:
    import xgboost as xgb
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = regression
    autolog(log_models=False)
    make_pipeline(StandardScaler(), xgb.XGBRegressor(n_estimators=3)).fit(X, y)
    run = only_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert "xgbregressor__n_estimators" in run.data.params


def test_disabled_xgboost_logs_nothing(splits: Any) -> None:
    import xgboost as xgb

    X, y, _, _ = splits
    plain = xgb.train
    xgboost_autolog()
    xgboost_autolog(disable=True)
    assert xgb.train is plain
    xgb.train({}, xgb.DMatrix(X, label=y), 2)
    xgb.XGBRegressor(n_estimators=2).fit(X, y)
    assert all_runs() == []
