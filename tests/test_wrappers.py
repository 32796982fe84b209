"""The eight public save/log wrappers: their signatures cannot drift apart, and each one's
arguments reach the core (through ``modelpack._wrappers``) as given."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelpack
import modelpack.pyfunc
import modelpack.sklearn
import modelpack.xgboost
from modelpack import _wrappers
from modelpack._save import SaveOptions

SAVES: dict[str, Callable[..., Any]] = {
    "modelpack": modelpack.save_model,
    "sklearn": modelpack.sklearn.save_model,
    "xgboost": modelpack.xgboost.save_model,
    "pyfunc": modelpack.pyfunc.save_model,
}
LOGS: dict[str, Callable[..., Any]] = {
    "modelpack": modelpack.log_model,
    "sklearn": modelpack.sklearn.log_model,
    "xgboost": modelpack.xgboost.log_model,
    "pyfunc": modelpack.pyfunc.log_model,
}
WRAPPERS = {f"{k}.save_model": v for k, v in SAVES.items()} | {
    f"{k}.log_model": v for k, v in LOGS.items()
}
SAVE_ONLY = {"path", "overwrite"}
LOG_ONLY = {"name", "registered_model_name", "artifact_path", "await_registration_for"}


def _params(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


def _shape(p: inspect.Parameter) -> tuple[str, Any, Any]:
    return (p.kind.name, p.default, p.annotation)


@pytest.mark.parametrize("common", _wrappers.COMMON)
def test_common_parameters_are_identical_in_all_eight(common: str) -> None:
    shapes = {name: _shape(_params(fn)[common]) for name, fn in WRAPPERS.items()}
    assert len(set(shapes.values())) == 1, shapes
    kind, default, _ = next(iter(shapes.values()))
    assert kind == "KEYWORD_ONLY" and default is None


@pytest.mark.parametrize("flavor", list(SAVES))
def test_save_and_log_differ_only_by_placement(flavor: str) -> None:
    save, log = _params(SAVES[flavor]), _params(LOGS[flavor])
    assert set(save) - set(log) == SAVE_ONLY
    assert set(log) - set(save) == LOG_ONLY
    shared = [n for n in save if n in log]
    assert shared == [n for n in log if n in save], "same order"
    assert {n: _shape(save[n]) for n in shared} == {n: _shape(log[n]) for n in shared}


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_every_wrapper_has_the_same_frame(name: str) -> None:
    params = list(_params(WRAPPERS[name]).values())
    model, where = params[0], params[1]
    assert model.name in _wrappers.MODEL_PARAMETERS
    assert model.kind is where.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert model.default is inspect.Parameter.empty
    if where.name == "path":
        assert where.default is inspect.Parameter.empty
    else:
        assert (where.name, where.default) == ("name", "model")
    rest = params[2:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest), "keyword-only after two"
    assert all(p.default is not inspect.Parameter.empty for p in rest)
    if "overwrite" in _params(WRAPPERS[name]):
        assert _params(WRAPPERS[name])["overwrite"].default is False
    if "registered_model_name" in _params(WRAPPERS[name]):
        assert _params(WRAPPERS[name])["registered_model_name"].default is None


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any, SaveOptions]]:
    calls: list[tuple[Any, Any, SaveOptions]] = []

    def fake_save(model: Any, path: Any, options: SaveOptions) -> None:
        calls.append((model, path, options))

    import modelpack._save

    monkeypatch.setattr(modelpack._save, "save", fake_save)
    return calls


@pytest.mark.parametrize("flavor", list(SAVES))
def test_every_argument_reaches_the_core(flavor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _captured(monkeypatch)
    model = object() if flavor != "modelpack" else (lambda df: df)
    given = {common: object() for common in _wrappers.COMMON}
    SAVES[flavor](model, "somewhere", overwrite=True, **given)
    ((seen_model, path, options),) = calls
    assert seen_model is model and path == "somewhere" and options.overwrite is True
    for common, value in given.items():
        assert getattr(options, common) is value, common


@pytest.mark.parametrize(
    ("fn", "kwargs", "flavor", "flavor_options"),
    [
        pytest.param(
            modelpack.sklearn.save_model,
            {"serialization_format": "cloudpickle", "predict_method": "predict_proba"},
            "sklearn",
            {"serialization_format": "cloudpickle", "predict_method": "predict_proba"},
            id="sklearn",
        ),
        pytest.param(
            modelpack.sklearn.save_model,
            {},
            "sklearn",
            {"serialization_format": None, "predict_method": "predict"},
            id="sklearn-defaults",
        ),
        pytest.param(
            modelpack.xgboost.save_model,
            {"model_format": "json"},
            "xgboost",
            {"model_format": "json"},
            id="xgboost",
        ),
        pytest.param(
            modelpack.pyfunc.save_model,
            {"artifacts": {"a": "b"}},
            "python_function",
            {"artifacts": {"a": "b"}},
            id="pyfunc",
        ),
        pytest.param(modelpack.save_model, {}, None, {}, id="generic-nothing-given"),
        pytest.param(
            modelpack.save_model,
            {"flavor": "sklearn", "serialization_format": "pickle", "artifacts": {}},
            "sklearn",
            {"serialization_format": "pickle"},
            id="generic-given",
        ),
    ],
)
def test_flavor_options_reach_the_flavor(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    flavor: str | None,
    flavor_options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _captured(monkeypatch)
    fn(lambda df: df, "p", **kwargs)
    options = calls[0][2]
    assert (options.flavor, options.flavor_options) == (flavor, flavor_options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"serialization_format": "skops"},
            "serialization_format is not an option of the 'python_function' flavor",
            id="serialization_format-for-a-custom-model",
        ),
        pytest.param(
            {"flavor": "xgboost", "artifacts": {"a": "b"}},
            "artifacts is not an option of the 'xgboost' flavor",
            id="artifacts-for-xgboost",
        ),
    ],
)
def test_generic_options_a_flavor_does_not_take_are_refused(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        modelpack.save_model(lambda df: df, tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_generic_serialization_format_saves_a_sklearn_model(
    tmp_path: Path, taxi_dv_lr: Any
) -> None:
    info = modelpack.save_model(taxi_dv_lr[1], tmp_path / "m", serialization_format="cloudpickle")
    assert info.flavors["sklearn"]["serialization_format"] == "cloudpickle"
    assert (tmp_path / "m" / "model.pkl").is_file()


@pytest.mark.parametrize("flavor", list(LOGS))
def test_log_wrappers_pass_name_and_registration(
    flavor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelpack._tracking

    calls: list[tuple[Any, str, SaveOptions, str | None]] = []

    def fake_log(
        model: Any, name: str, options: SaveOptions, *, registered_model_name: Any
    ) -> None:
        calls.append((model, name, options, registered_model_name))

    monkeypatch.setattr(modelpack._tracking, "log_model_with", fake_log)
    model = lambda df: df  # noqa: E731
    LOGS[flavor](model, "sub/dir", registered_model_name="taxi", metadata={"k": 1})
    ((seen, name, options, registered),) = calls
    assert (seen, name, registered) == (model, "sub/dir", "taxi")
    assert options.metadata == {"k": 1} and options.overwrite is False


@pytest.mark.parametrize("flavor", list(LOGS))
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, "model"),
        ({"name": "m1"}, "m1"),
        ({"artifact_path": "models_mlflow"}, "models_mlflow"),  # MLflow's older spelling
        ({"name": "same", "artifact_path": "same"}, "same"),
    ],
    ids=["default", "name", "artifact_path", "both-equal"],
)
def test_log_wrappers_take_mlflows_artifact_path(
    flavor: str, given: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelpack._tracking

    names: list[str] = []
    monkeypatch.setattr(
        modelpack._tracking, "log_model_with", lambda model, name, *a, **k: names.append(name)
    )
    LOGS[flavor](lambda df: df, **given)
    assert names == [expected]


@pytest.mark.parametrize("flavor", list(LOGS))
def test_name_and_a_different_artifact_path_is_an_error(flavor: str) -> None:
    with pytest.raises(TypeError, match="give only one"):
        LOGS[flavor](lambda df: df, "a", artifact_path="b")
