"""The registry half of the client: MLflow's signatures, its store, and MLflow's answers.

The last tests run one registry session with real MLflow (``MlflowClient`` on a temporary
SQLite store) and with modelpack's ``RegistryClient``, and compare what a user reads back:
version numbers and their type, stages, aliases, tags, search results and orders, copies,
renames, and the error codes of the usual mistakes.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack import _registry as registry
from modelpack._client._registry import RegistryClient
from modelpack._store import PagedList
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, ModelpackError

pytestmark = pytest.mark.filterwarnings("error")

#: every registry method of MlflowClient that RegistryClient has
CLIENT_METHODS = [
    "copy_model_version",
    "create_model_version",
    "create_registered_model",
    "delete_model_version",
    "delete_model_version_tag",
    "delete_registered_model",
    "delete_registered_model_alias",
    "delete_registered_model_tag",
    "get_latest_versions",
    "get_model_version",
    "get_model_version_by_alias",
    "get_model_version_download_uri",
    "get_registered_model",
    "rename_registered_model",
    "search_model_versions",
    "search_registered_models",
    "set_model_version_tag",
    "set_registered_model_alias",
    "set_registered_model_tag",
    "transition_model_version_stage",
    "update_model_version",
    "update_registered_model",
]
#: parameters of MLflow's methods for its hosted services, which modelpack does not take
HOSTED_ONLY = {"deployment_job_id", "model_id", "env_pack"}


@pytest.fixture
def model_dir(tmp_path: Path, tiny_lr: Any) -> Path:
    path = tmp_path / "saved-model"
    modelpack.save_model(tiny_lr, path)
    return path


@pytest.fixture(scope="module")
def tiny_lr() -> Any:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    return LinearRegression().fit(X, X @ np.array([1.5, -2.0]) + 0.5)


def _shape(fn: Any) -> list[tuple[str, Any]]:
    params = inspect.signature(fn).parameters.values()
    return [(p.name, p.default) for p in params if p.name not in ("self", *HOSTED_ONLY)]


@pytest.mark.mlflow
@pytest.mark.parametrize("name", CLIENT_METHODS)
def test_client_methods_have_mlflows_signatures(name: str) -> None:
    mlflow_client = pytest.importorskip("mlflow").MlflowClient
    assert _shape(getattr(RegistryClient, name)) == _shape(getattr(mlflow_client, name))


@pytest.mark.mlflow
@pytest.mark.parametrize(
    "name",
    [
        "register_model",
        "search_model_versions",
        "search_registered_models",
        "set_model_version_tag",
    ],
)
def test_module_functions_have_mlflows_signatures(name: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    ours = _shape(getattr(registry, name))
    if name == "register_model":
        ours = [p for p in ours if p[0] != "description"]  # modelpack's one addition
    if name == "set_model_version_tag":
        ours = [p for p in ours if p[0] != "stage"]  # the client's deprecated form
    assert ours == _shape(getattr(mlflow, name))


def test_the_fluent_functions_are_the_clients_methods() -> None:
    """One implementation: a module-level name is the method of a Registry on the store in effect."""
    for name in CLIENT_METHODS:
        if name in ("search_model_versions", "search_registered_models"):
            continue  # MLflow's module-level search reads every page: a function of its own
        fn = getattr(registry, name)
        assert fn.__func__ is getattr(RegistryClient, name), name


def test_a_client_works_on_its_own_store(tmp_path: Path, model_dir: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'other' / 'store.db'}"
    client = RegistryClient(elsewhere)
    client.create_registered_model("taxi")
    version = client.create_model_version("taxi", str(model_dir))
    assert version.version == 1 and client.get_registered_model("taxi").name == "taxi"
    assert modelpack.search_registered_models() == []  # not in the default store
    assert Path(client.get_model_version_download_uri("taxi", 1)).is_relative_to(tmp_path / "other")
    separate = RegistryClient(tracking_uri=str(tmp_path / "runs"), registry_uri=elsewhere)
    assert separate.get_model_version("taxi", "1").version == 1


def test_paged_results_are_lists_with_a_token(model_dir: Path) -> None:
    client = RegistryClient()
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    page = client.search_model_versions("name = 'm'", max_results=2)
    assert isinstance(page, PagedList) and isinstance(page, list) and page.token
    rest = client.search_model_versions("name = 'm'", max_results=2, page_token=page.token)
    assert sorted(v.version for v in [*page, *rest]) == [1, 2, 3] and rest.token is None


# ------------------------------------------------------------------ side by side with MLflow
def _codes(client: Any, calls: dict[str, Any]) -> dict[str, str]:
    found = {}
    for label, call in calls.items():
        try:
            call(client)
            found[label] = "no error"
        except Exception as e:  # MlflowException for both tools
            found[label] = getattr(e, "error_code", type(e).__name__)
    return found


def _session(client: Any, register: Any, source: str) -> dict[str, Any]:
    """One registry session by MlflowClient's API only; what a user would read back."""

    def pause() -> None:
        time.sleep(0.01)  # distinct update times, so default orders are well defined

    out: dict[str, Any] = {}
    created = client.create_registered_model("taxi", tags={"team": "ml"}, description="draft")
    out["created"] = [created.name, created.description, created.tags, created.aliases]
    out["created_latest"] = list(created.latest_versions)
    versions = []
    for i in range(4):
        pause()
        versions.append(client.create_model_version("taxi", source, tags={"i": i}))
    pause()
    register(source, "churn")
    v1 = versions[0]
    out["v1"] = [type(v1.version).__name__, v1.version, v1.current_stage, v1.status, v1.tags]
    out["v1_more"] = [v1.aliases, v1.run_link, v1.status_message, v1.description]
    pause()
    client.transition_model_version_stage("taxi", 1, "production")
    pause()
    client.transition_model_version_stage("taxi", "2", "Staging")
    pause()
    client.transition_model_version_stage("taxi", 3, "Production", archive_existing_versions=True)
    client.set_registered_model_alias("taxi", "champion", 3)
    client.set_registered_model_alias("taxi", "challenger", "4")
    client.set_model_version_tag("taxi", "3", "validated", True)
    client.set_registered_model_tag("taxi", "domain", "mobility")
    client.delete_registered_model_alias("taxi", "challenger")
    pause()
    client.update_model_version("taxi", 3, description="best")
    client.update_registered_model("taxi", description="duration in minutes")

    model = client.get_registered_model("taxi")
    out["model"] = [model.description, dict(sorted(model.tags.items())), model.aliases]
    out["model_latest"] = [(v.version, v.current_stage) for v in model.latest_versions]
    out["latest"] = [(v.version, v.current_stage) for v in client.get_latest_versions("taxi")]
    staged = client.get_latest_versions("taxi", stages=["production", "Staging"])
    out["latest_staged"] = [(v.version, v.current_stage) for v in staged]
    champion = client.get_model_version_by_alias("taxi", "champion")
    out["champion"] = [champion.version, champion.aliases, champion.tags, champion.description]
    out["default_order"] = [(v.name, v.version) for v in client.search_model_versions()]
    for text in (
        "name = 'taxi'",
        "name LIKE 'ta%'",
        "name ILIKE 'TA%'",
        "name != 'taxi'",
        "name IN ('churn', 'nope')",
        "version_number > 2",
        "tags.i = '1'",
        "tags.validated = 'True' and name = 'taxi'",
        "tags.i != '1'",
        "name = 'nope'",
    ):
        found = client.search_model_versions(text, order_by=["name", "version_number DESC"])
        out[f"versions[{text}]"] = [(v.name, v.version) for v in found]
    for text in ("name = 'taxi'", "name LIKE 'c%'", "tags.team = 'ml'", "name != 'taxi'"):
        out[f"models[{text}]"] = [m.name for m in client.search_registered_models(text)]
    out["models_desc"] = [m.name for m in client.search_registered_models(order_by=["name DESC"])]
    page = client.search_registered_models(max_results=1)
    out["models_page"] = [[m.name for m in page], bool(page.token)]

    copied = client.copy_model_version("models:/taxi@champion", "taxi-prod")
    out["copied"] = [copied.name, copied.version, copied.source, copied.tags, copied.description]
    same = client.copy_model_version("models:/taxi/1", "taxi")
    out["copied_into_itself"] = [same.name, same.version, same.source]
    client.delete_model_version("taxi", 4)
    pause()
    client.rename_registered_model("taxi", "nyc-taxi")
    renamed = client.get_registered_model("nyc-taxi")
    out["renamed"] = [renamed.name, renamed.aliases, dict(sorted(renamed.tags.items()))]
    out["renamed_versions"] = sorted(
        (v.version, v.current_stage) for v in client.search_model_versions("name = 'nyc-taxi'")
    )
    out["after_rename_alias"] = client.get_model_version_by_alias("nyc-taxi", "champion").version
    out["errors"] = _codes(
        client,
        {
            "missing_version": lambda c: c.get_model_version("nyc-taxi", 99),
            "deleted_version": lambda c: c.get_model_version("nyc-taxi", 4),
            "missing_model": lambda c: c.get_registered_model("taxi"),
            "old_name_versions": lambda c: c.get_model_version("taxi", 1),
            "existing_name": lambda c: c.create_registered_model("churn"),
            "rename_to_existing": lambda c: c.rename_registered_model("nyc-taxi", "churn"),
            "bad_stage": lambda c: c.transition_model_version_stage("nyc-taxi", 1, "Prod"),
            "bad_version": lambda c: c.get_model_version("nyc-taxi", "one"),
            "alias_missing_version": lambda c: c.set_registered_model_alias("nyc-taxi", "a", 9),
            "alias_reserved": lambda c: c.set_registered_model_alias("nyc-taxi", "v1", 1),
            "alias_bad_chars": lambda c: c.set_registered_model_alias("nyc-taxi", "a b", 1),
            "version_of_missing_model": lambda c: c.create_model_version("nope", source),
            "bad_filter": lambda c: c.search_model_versions("name = 'a' OR name = 'b'"),
            "bad_key": lambda c: c.search_model_versions("stage = 'None'"),
            "bad_order": lambda c: c.search_registered_models(order_by=["version_number"]),
            "too_many": lambda c: c.search_registered_models(max_results=1001),
            "archive_into_none": lambda c: c.transition_model_version_stage(
                "nyc-taxi", 1, "None", archive_existing_versions=True
            ),
        },
    )
    client.delete_registered_model("taxi-prod")
    out["after_delete"] = [m.name for m in client.search_registered_models()]
    return out


@pytest.mark.mlflow
@pytest.mark.slow
def test_a_registry_session_reads_back_as_with_mlflow(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # MLflow writes ./mlruns otherwise
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # MLflow's setters also export MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI to the process
    # environment, which every later subprocess would inherit: monkeypatch restores both.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        with pytest.warns():  # MLflow's own deprecation warnings (stages)
            theirs = _session(mlflow.MlflowClient(), mlflow.register_model, str(model_dir))
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    ours = _session(RegistryClient(), registry.register_model, str(model_dir))
    # error codes apart, everything a user reads back is the same
    their_errors, our_errors = theirs.pop("errors"), ours.pop("errors")
    assert ours == theirs
    # where MLflow raises INTERNAL_ERROR for a wrong argument, modelpack says it is one
    internal = {k for k, v in their_errors.items() if v == "INTERNAL_ERROR"}
    assert {k: v for k, v in our_errors.items() if k not in internal} == {
        k: v for k, v in their_errors.items() if k not in internal
    }
    assert {our_errors[k] for k in internal} <= {"INVALID_PARAMETER_VALUE"}


def test_error_kinds_for_the_usual_mistakes(model_dir: Path) -> None:
    client = RegistryClient()
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    with pytest.raises(ModelNotFoundError) as missing:
        client.get_model_version("m", "99")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "has no version 99; versions: 1 (no stage)" in str(missing.value)
    with pytest.raises(ModelExistsError) as taken:
        client.create_registered_model("m")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    for bad in (
        lambda: client.transition_model_version_stage("m", 1, "Prod"),
        lambda: client.set_registered_model_alias("m", "latest", 1),
        lambda: client.get_model_version("m", "x"),
    ):
        with pytest.raises(ValueError) as info:
            bad()
        assert isinstance(info.value, ModelpackError)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
