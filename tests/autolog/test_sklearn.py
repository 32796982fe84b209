"""scikit-learn autologging: params, training metrics, tags and models, pipelines, searches."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._autolog import autolog, sklearn_autolog
from modelpack._store import TAG_PARENT

from ._helpers import all_runs, only_run

# a search object is stored with cloudpickle, which warns on load by design; every other
# warning fails the test
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]


def test_a_linear_regression_fit_logs_params_metrics_tags_and_the_model(regression: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog()
    model = LinearRegression(fit_intercept=True)
    assert model.fit(X, y) is model

    run = only_run()
    assert run.info.status == "FINISHED" and modelpack.active_run() is None
    assert run.data.params == {k: str(v) for k, v in model.get_params(deep=True).items()}
    assert run.data.tags["estimator_name"] == "LinearRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._base.LinearRegression"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    pred = model.predict(X)
    mse = metrics.mean_squared_error(y, pred)
    assert run.data.metrics == pytest.approx(
        {
            "training_mean_squared_error": mse,
            "training_root_mean_squared_error": math.sqrt(mse),
            "training_mean_absolute_error": metrics.mean_absolute_error(y, pred),
            "training_r2_score": metrics.r2_score(y, pred),
            "training_score": model.score(X, y),
        },
        rel=1e-12,
    )
    assert run.logged_models == ("model",)
    loaded = modelpack.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_allclose(loaded.predict(X), pred)
    native = modelpack.sklearn.load_model(f"runs:/{run.run_id}/model")
    assert type(native) is LinearRegression
    np.testing.assert_array_equal(native.coef_, model.coef_)
    # the signature, inferred from the first rows, but no example unless asked for
    assert loaded.signature is not None and loaded.signature.outputs is not None
    assert loaded.metadata.saved_input_example_info is None


def test_classifier_metrics_match_scikit_learn(classification: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    X, y = classification
    sklearn_autolog()
    model = LogisticRegression().fit(X, y)

    got = only_run().data.metrics
    pred, proba = model.predict(X), model.predict_proba(X)
    w = {"average": "weighted"}
    assert got == pytest.approx(
        {
            "training_accuracy_score": metrics.accuracy_score(y, pred),
            "training_precision_score": metrics.precision_score(y, pred, **w),
            "training_recall_score": metrics.recall_score(y, pred, **w),
            "training_f1_score": metrics.f1_score(y, pred, **w),
            "training_log_loss": metrics.log_loss(y, proba),
            "training_roc_auc": metrics.roc_auc_score(y, proba[:, 1]),
            "training_score": model.score(X, y),
        },
        rel=1e-12,
    )


def test_pos_label_gives_binary_scores(classification: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    X, y = classification
    sklearn_autolog(pos_label=0)
    pred = LogisticRegression().fit(X, y).predict(X)
    got = only_run().data.metrics
    assert got["training_precision_score"] == pytest.approx(
        metrics.precision_score(y, pred, pos_label=0)
    )


def test_sample_weights_reach_the_metrics(regression: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import Ridge

    X, y = regression
    weight = np.linspace(0.1, 3.0, len(y))
    sklearn_autolog()
    model = Ridge().fit(X, y, sample_weight=weight)
    got = only_run().data.metrics
    assert got["training_r2_score"] == pytest.approx(
        metrics.r2_score(y, model.predict(X), sample_weight=weight)
    )
    assert got["training_score"] == pytest.approx(model.score(X, y, sample_weight=weight))


def test_a_pipeline_logs_once_as_a_whole(records: Any) -> None:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    rows, y = records
    sklearn_autolog(log_input_examples=True)
    pipeline = make_pipeline(DictVectorizer(), LinearRegression())
    assert pipeline.fit(rows, y) is pipeline

    run = only_run()  # not one run per step
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["dictvectorizer__sparse"] == "True"
    assert run.data.params["linearregression__fit_intercept"] == "True"
    assert run.data.metrics["training_r2_score"] == pytest.approx(pipeline.score(rows, y))
    loaded = modelpack.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_allclose(loaded.predict(rows[:10]), pipeline.predict(rows[:10]))
    assert [c.name for c in loaded.input_schema.specs] == ["PU_DO", "trip_distance"]
    example = loaded.metadata.saved_input_example_info
    assert example is not None and example["type"] == "dataframe"


def test_fit_transform_of_a_pipeline_logs_once(records: Any) -> None:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.pipeline import make_pipeline

    rows, _ = records
    sklearn_autolog()
    out = make_pipeline(DictVectorizer(), TruncatedSVD(2, random_state=0)).fit_transform(rows)
    assert out.shape == (len(rows), 2)
    run = only_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    # a transformer's model transforms when asked to predict
    loaded = modelpack.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_allclose(np.asarray(loaded.predict(rows[:3])), out[:3], rtol=1e-9)


def test_data_preparation_alone_and_cross_validation_are_not_logged(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    X, y = regression
    sklearn_autolog()
    StandardScaler().fit(X)
    scores = cross_val_score(LinearRegression(), X, y, cv=3)
    assert len(scores) == 3
    assert all_runs() == []


def test_grid_search_logs_a_parent_run_and_the_best_candidates(regression: Any) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    X, y = regression
    sklearn_autolog()
    alphas = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]
    search = GridSearchCV(Ridge(), {"alpha": alphas}, cv=3).fit(X, y)

    runs = all_runs()
    parents = [r for r in runs if TAG_PARENT not in r.data.tags]
    children = [r for r in runs if TAG_PARENT in r.data.tags]
    assert len(parents) == 1 and len(children) == 5  # max_tuning_runs=5; no run per fold
    parent = parents[0]
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    assert parent.data.params["best_alpha"] == str(search.best_params_["alpha"])
    assert parent.data.params["cv"] == "3"
    assert "estimator__alpha" not in parent.data.params  # the seed's untuned params are not
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.data.metrics["training_score"] == pytest.approx(search.score(X, y))
    assert parent.logged_models == ("model", "best_estimator")

    results = search.cv_results_
    best_five = set(np.argsort(results["rank_test_score"], kind="stable")[:5])
    assert {str(alphas[i]) for i in best_five} == {c.data.params["alpha"] for c in children}
    for child in children:
        assert child.data.tags[TAG_PARENT] == parent.run_id
        assert child.data.tags["estimator_name"] == "Ridge"
        i = alphas.index(float(child.data.params["alpha"]))
        assert child.data.params["fit_intercept"] == "True"
        assert child.data.metrics["mean_test_score"] == pytest.approx(results["mean_test_score"][i])
        assert child.data.metrics["rank_test_score"] == results["rank_test_score"][i]
        assert not any(k.startswith(("split", "param")) for k in child.data.metrics)

    best = modelpack.sklearn.load_model(f"runs:/{parent.run_id}/best_estimator")
    assert type(best) is Ridge and best.alpha == search.best_params_["alpha"]
    whole = modelpack.load_model(f"runs:/{parent.run_id}/model")
    np.testing.assert_allclose(whole.predict(X[:5]), search.predict(X[:5]))


def test_max_tuning_runs_none_logs_every_candidate(regression: Any) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import RandomizedSearchCV

    X, y = regression
    sklearn_autolog(max_tuning_runs=None, log_models=False)
    grid = {"alpha": [0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    RandomizedSearchCV(Ridge(), grid, n_iter=6, cv=2, random_state=0).fit(X, y)
    runs = all_runs()
    assert sum(TAG_PARENT in r.data.tags for r in runs) == 6
    assert all(r.logged_models == () for r in runs)


def test_a_fit_inside_a_user_run_logs_into_it_and_leaves_it_open(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog()
    with modelpack.start_run() as run:
        LinearRegression().fit(X, y)
        assert modelpack.active_run() is run
    logged = only_run()
    assert logged.run_id == run.run_id
    assert "training_score" in logged.data.metrics and logged.logged_models == ("model",)
    assert "mlflow.autologging" not in logged.data.tags  # the user started this run


def test_fits_in_user_nested_runs_log_into_each_child(regression: Any) -> None:
    """The hyperopt / optuna pattern: one nested run per trial, started by the user."""
    from sklearn.linear_model import Ridge

    X, y = regression
    sklearn_autolog(log_models=False)
    with modelpack.start_run() as parent:
        trials = []
        for alpha in (0.1, 1.0, 10.0):
            with modelpack.start_run(nested=True) as trial:
                Ridge(alpha=alpha).fit(X, y)
                trials.append((trial.run_id, alpha))
    assert len(all_runs()) == 4
    assert modelpack.get_run(parent.run_id).data.params == {}
    for run_id, alpha in trials:
        child = modelpack.get_run(run_id)
        assert child.data.params["alpha"] == str(alpha)
        assert child.data.tags[TAG_PARENT] == parent.run_id
        assert "training_r2_score" in child.data.metrics


def test_exclusive_leaves_user_runs_alone(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog(exclusive=True)
    with modelpack.start_run() as run:
        LinearRegression().fit(X, y)
    assert only_run().data.params == {} and only_run().run_id == run.run_id
    LinearRegression().fit(X, y)  # without a user run it still logs, in a run of its own
    assert len(all_runs()) == 2


def test_log_models_false_and_signature_switches(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog(log_models=False)
    LinearRegression().fit(X, y)
    assert only_run().logged_models == ()

    sklearn_autolog(log_input_examples=True, log_model_signatures=False)
    with modelpack.start_run() as run:
        LinearRegression().fit(X, y)
    model = modelpack.load_model(f"runs:/{run.run_id}/model")
    assert model.signature is None
    info = model.metadata.saved_input_example_info
    assert info is not None
    example = json_rows(Path(model.model_dir) / info["artifact_path"])
    np.testing.assert_allclose(example, X[:5])


def json_rows(path: Path) -> Any:
    import json

    return np.asarray(json.loads(path.read_text()))


def test_registered_model_name_registers_each_model(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    sklearn_autolog(registered_model_name="autologged-lr", extra_tags={"team": "ml"})
    LinearRegression().fit(X, y)
    LinearRegression(fit_intercept=False).fit(X, y)
    assert modelpack.get_model_version("autologged-lr", 2).version == 2
    assert {r.data.tags["team"] for r in all_runs()} == {"ml"}


def test_top_level_autolog_enables_sklearn_and_excludes_on_request(regression: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = regression
    autolog(exclude_flavors=["sklearn"])
    LinearRegression().fit(X, y)
    assert all_runs() == []
    autolog()
    LinearRegression().fit(X, y)
    assert len(all_runs()) == 1
