"""Autologging never changes training: failures warn once, disabling restores the originals."""

from __future__ import annotations

import inspect
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._autolog import autolog, sklearn_autolog
from modelpack.exceptions import ModelpackWarning

from ._helpers import all_runs, only_run

pytestmark = pytest.mark.filterwarnings("error")


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise OSError("disk full")


def test_a_failing_model_log_warns_once_and_returns_the_fitted_model(
    regression: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    reference = LinearRegression().fit(X, y)
    sklearn_autolog()
    monkeypatch.setattr(modelpack.sklearn, "log_model", _boom)
    model = LinearRegression()
    with pytest.warns(ModelpackWarning) as caught:
        fitted = model.fit(X, y)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "LinearRegression.fit" in message and "the model (OSError: disk full)" in message
    assert caught[0].filename == __file__  # points at the user's fit call
    assert fitted is model
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    run = only_run()  # the rest was still recorded, and the run ended normally
    assert run.info.status == "FINISHED" and "training_score" in run.data.metrics
    assert run.logged_models == ()


def test_every_failing_part_is_in_one_warning(
    regression: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    X, y = regression
    sklearn_autolog()
    for name in ("log_params", "log_metrics"):
        monkeypatch.setattr(modelpack, name, _boom)
    monkeypatch.setattr(modelpack.sklearn, "log_model", _boom)
    with pytest.warns(ModelpackWarning) as caught:
        search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2).fit(X, y)
    assert len(caught) == 1
    assert "the parameters" in str(caught[0].message)
    assert "the best estimator" in str(caught[0].message)
    assert search.best_estimator_ is not None


def test_an_unwritable_store_warns_and_training_goes_on(regression: Any, store: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    store.write_text("not a directory")  # the store cannot be created here
    sklearn_autolog()
    with pytest.warns(ModelpackWarning, match="a run to log into"):
        model = LinearRegression().fit(X, y)
    assert model.coef_.shape == (3,)


def test_silent_shows_no_warning(regression: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog(silent=True)
    monkeypatch.setattr(modelpack.sklearn, "log_model", _boom)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearRegression().fit(X, y)
    assert "training_score" in only_run().data.metrics


def test_an_error_in_the_users_fit_propagates_unchanged(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    bad = X.copy()
    bad[0, 0] = np.nan
    sklearn_autolog()
    with pytest.raises(ValueError) as autologged:
        LinearRegression().fit(bad, y)
    run = only_run()
    assert run.info.status == "FAILED"  # the run autolog started ends with the fit
    sklearn_autolog(disable=True)
    with pytest.raises(ValueError) as plain:
        LinearRegression().fit(bad, y)
    assert str(autologged.value) == str(plain.value)
    assert type(autologged.value) is type(plain.value)
    assert modelpack.active_run() is None


def _raw(owner: Any, name: str) -> Any:
    return inspect.getattr_static(owner, name, None)


def test_disable_restores_the_original_functions_exactly(regression: Any) -> None:
    import xgboost
    import xgboost.sklearn
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import _validation, cross_val_score
    from sklearn.pipeline import Pipeline

    X, y = regression
    targets = [
        (LinearRegression, "fit"),
        (Pipeline, "fit"),
        (_raw(Pipeline, "fit_transform"), "fn"),  # an available_if method
        (xgboost, "train"),
        (xgboost.sklearn, "train"),
        (xgboost.XGBRegressor, "fit"),
        (xgboost.sklearn.XGBModel, "fit"),
        (_validation, "cross_validate"),
    ]
    before = [_raw(owner, name) for owner, name in targets]
    own_before = "fit_predict" in vars(KMeans)  # inherited from ClusterMixin
    plain_fit = LinearRegression.fit

    autolog()
    assert all(_raw(o, n) is not b for (o, n), b in zip(targets, before))
    assert "fit_predict" in vars(KMeans)
    assert inspect.signature(LinearRegression.fit) == inspect.signature(plain_fit)
    autolog(disable=True)

    assert all(_raw(o, n) is b for (o, n), b in zip(targets, before))
    assert LinearRegression.fit is plain_fit
    assert ("fit_predict" in vars(KMeans)) == own_before
    assert cross_val_score is _validation.cross_val_score
    LinearRegression().fit(X, y)
    assert all_runs() == []


def test_calling_autolog_twice_does_not_patch_twice(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog()
    wrapper = LinearRegression.fit
    sklearn_autolog(log_models=False)  # the new settings apply; the wrapper stays
    assert LinearRegression.fit is wrapper
    LinearRegression().fit(X, y)
    run = only_run()
    assert run.logged_models == () and "training_score" in run.data.metrics


def test_importing_autolog_imports_neither_library() -> None:
    code = (
        "import sys, modelpack, modelpack._autolog as a; "
        "assert callable(a.autolog); "
        "print(sorted(m for m in ('sklearn', 'xgboost', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_arguments_are_refused_before_patching() -> None:
    from sklearn.linear_model import LinearRegression

    plain = LinearRegression.fit
    with pytest.raises(ValueError, match="max_tuning_runs"):
        sklearn_autolog(max_tuning_runs=-1)
    with pytest.raises(ValueError, match="serialization_format"):
        sklearn_autolog(serialization_format="joblib")
    assert LinearRegression.fit is plain


def test_the_users_error_wins_over_a_logging_warning(
    regression: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    bad = X.copy()
    bad[0, 0] = np.nan
    sklearn_autolog()
    monkeypatch.setattr(modelpack, "log_params", _boom)  # a logging failure before the fit
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the failure's warning would be an exception
        with pytest.raises(ValueError, match="NaN"):
            LinearRegression().fit(bad, y)


def test_a_failing_booster_log_warns_once_and_returns_the_booster(
    regression: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xgboost as xgb

    from modelpack._autolog import xgboost_autolog

    X, y = regression
    xgboost_autolog()
    monkeypatch.setattr(modelpack.xgboost, "log_model", _boom)
    dtrain = xgb.DMatrix(X, label=y)
    with pytest.warns(ModelpackWarning) as caught:
        booster = xgb.train({}, dtrain, 3, evals=[(dtrain, "train")], verbose_eval=False)
    assert len(caught) == 1 and "xgboost.train" in str(caught[0].message)
    assert booster.num_boosted_rounds() == 3
    assert len(modelpack.get_metric_history(only_run().run_id, "train-rmse")) == 3
