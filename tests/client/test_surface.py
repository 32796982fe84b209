"""The MLflow-named surface: facade modules, the client class, error codes on modelpack's errors."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelpack import exceptions as exc
from modelpack.exceptions import MlflowException, ModelpackError, NotSupportedError, RestException


@pytest.fixture(autouse=True)
def _no_store_uri_leaks() -> Iterator[None]:
    yield
    from modelpack import _store

    _store.set_store_uri(None)
    _store.close_stores()


# ---------------------------------------------------------------------------- error codes


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (exc.ManifestError("m", path="p"), "INVALID_PARAMETER_VALUE", 400),
        (exc.SchemaError("s", column="c"), "INVALID_PARAMETER_VALUE", 400),
        (exc.UnsafeArchiveError("a"), "INVALID_PARAMETER_VALUE", 400),
        (exc.ModelNotFoundError("n", uri="u"), "RESOURCE_DOES_NOT_EXIST", 404),
        (exc.FlavorNotFoundError("f", flavor="x"), "RESOURCE_DOES_NOT_EXIST", 404),
        (exc.ModelExistsError("e"), "RESOURCE_ALREADY_EXISTS", 400),
        (exc.FlavorExistsError("e", flavor="x"), "RESOURCE_ALREADY_EXISTS", 400),
        (exc.UnsafeModelError("u"), "PERMISSION_DENIED", 403),
        (exc.NotSupportedError("n", name="x"), "NOT_IMPLEMENTED", 501),
        (exc.MissingDependencyError("d", extra="xgboost"), "INTERNAL_ERROR", 500),
        (exc.IntegrityError("i", path="p"), "INTERNAL_ERROR", 500),
        (exc.EnvironmentMismatchError("e"), "INTERNAL_ERROR", 500),
        (exc.StoreError("s"), "INTERNAL_ERROR", 500),
        (ModelpackError("x"), "INTERNAL_ERROR", 500),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_each_error_kind_has_mlflows_code_and_status(error: Exception, code: str, status: int):
    assert isinstance(error, MlflowException)
    assert error.error_code == code
    assert error.get_http_status_code() == status
    assert error.message == str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.error_code, copy.message) == (type(error), code, error.message)


def test_mlflow_exception_is_the_base_error_and_takes_a_code_by_name_or_number():
    assert MlflowException is ModelpackError
    with pytest.raises(MlflowException) as info:
        raise MlflowException("bad value", error_code="INVALID_PARAMETER_VALUE")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert info.value.get_http_status_code() == 400
    assert MlflowException("x", 3002).error_code == "RESOURCE_DOES_NOT_EXIST"  # MLflow's number
    assert MlflowException("x", error_code="NO_SUCH_CODE").error_code == "INTERNAL_ERROR"
    assert MlflowException.invalid_parameter_value("x").error_code == "INVALID_PARAMETER_VALUE"
    body = MlflowException("gone", error_code="RESOURCE_DOES_NOT_EXIST").serialize_as_json()
    assert body == '{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}'


def test_a_raise_overrides_the_class_code_and_keeps_the_keywords():
    error = exc.StoreError("bad name", error_code="INVALID_PARAMETER_VALUE")
    assert (error.error_code, exc.StoreError.error_code) == (
        "INVALID_PARAMETER_VALUE",
        "INTERNAL_ERROR",
    )
    error = exc.ModelNotFoundError("n", uri="models:/m/1", error_code="ENDPOINT_NOT_FOUND")
    assert (error.uri, error.error_code, error.get_http_status_code()) == (
        "models:/m/1",
        "ENDPOINT_NOT_FOUND",
        404,
    )
    assert pickle.loads(pickle.dumps(error)).error_code == "ENDPOINT_NOT_FOUND"
    assert isinstance(exc.ModelExistsError("e"), FileExistsError)


def test_an_error_class_defined_elsewhere_gets_the_code_of_its_builtin():
    class Invalid(ModelpackError, ValueError):
        pass

    class Absent(exc.StoreError, LookupError):
        pass

    class Row(exc.SchemaError):
        pass

    assert Invalid.error_code == "INVALID_PARAMETER_VALUE"
    assert Absent.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert Row.error_code == "INVALID_PARAMETER_VALUE"


def test_rest_exception_reads_a_servers_error_body():
    error = RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run 'x'"})
    assert isinstance(error, MlflowException)
    assert (error.error_code, error.message) == (
        "RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_DOES_NOT_EXIST: no run 'x'",
    )
    assert error.get_http_status_code() == 404
    assert (
        RestException({"error_code": 409}).error_code == "ALREADY_EXISTS"
    )  # a status read as a code
    assert RestException({"message": "?"}).error_code == "INTERNAL_ERROR"
    assert pickle.loads(pickle.dumps(error)).json == error.json


def test_not_supported_is_an_attribute_error():
    error = NotSupportedError("use x", name="log_table")
    assert isinstance(error, AttributeError)
    assert isinstance(error, ModelpackError)
    assert error.name == "log_table"


def test_http_status_follows_mlflows_mapping():
    assert exc.http_status("RESOURCE_ALREADY_EXISTS") == 400  # MLflow's choice, not 409
    assert exc.http_status("RESOURCE_CONFLICT") == 409
    assert exc.http_status("TEMPORARILY_UNAVAILABLE") == 503
    assert exc.http_status("IO_ERROR") == 500


# --------------------------------------------------------------------------- modelpack.models


def test_models_has_mlflows_signature_names(tmp_path: Path):
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import modelpack
    import modelpack.sklearn
    from modelpack.models import ModelSignature, get_model_info, infer_signature
    from modelpack.models import signature as signature_module

    assert ModelSignature is modelpack.Signature is signature_module.ModelSignature
    assert infer_signature is modelpack.infer_signature is signature_module.infer_signature
    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]])
    signature = infer_signature(X, X.sum(axis=1))
    modelpack.sklearn.save_model(
        LinearRegression().fit(X, X.sum(axis=1)), tmp_path / "m", signature=signature
    )
    info = get_model_info(str(tmp_path / "m"))
    assert info.signature == signature
    assert set(info.flavors) == {"python_function", "sklearn"}
    assert info.model_uri == str(tmp_path / "m")
    with pytest.raises(exc.ModelNotFoundError):
        get_model_info(str(tmp_path / "absent"))


# ------------------------------------------------------------------------- facade modules


def test_mlflow_import_paths_give_modelpacks_objects():
    import modelpack
    import modelpack._store as store
    import modelpack.client
    import modelpack.tracking
    from modelpack._client import Client
    from modelpack.client import MlflowClient as from_client
    from modelpack.entities import Metric, Param, RunTag, ViewType
    from modelpack.entities.model_registry import ModelVersion, RegisteredModel
    from modelpack.exceptions import MlflowException as from_exceptions
    from modelpack.tracking import MlflowClient

    assert MlflowClient is modelpack.tracking.MlflowClient is from_client is Client
    assert from_exceptions is ModelpackError
    assert (Metric, Param, RunTag, ViewType) == (
        store.Metric,
        store.Param,
        store.RunTag,
        store.ViewType,
    )
    assert (ModelVersion, RegisteredModel) == (store.ModelVersion, store.RegisteredModel)
    assert ViewType.ALL == 3 and ViewType.ACTIVE_ONLY == 1  # MLflow's values
    assert modelpack.tracking.set_tracking_uri is store.set_store_uri
    assert modelpack.tracking.get_tracking_uri is store.get_store_uri
    assert modelpack.tracking.get_registry_uri is store.get_store_uri


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("modelpack.tracking", "is_tracking_uri_set"),
        ("modelpack.entities", "Span"),
        ("modelpack.entities", "ExperimentTag"),
        ("modelpack.entities.model_registry", "ModelVersionTag"),
        ("modelpack.models", "evaluate"),
        ("modelpack.models.signature", "set_signature"),
    ],
)
def test_a_facade_module_names_the_modelpack_way_for_what_it_lacks(module: str, name: str):
    import importlib

    facade = importlib.import_module(module)
    assert not hasattr(facade, name)
    with pytest.raises(NotSupportedError, match=f"{module}.{name}"):
        getattr(facade, name)
    with pytest.raises(AttributeError, match="has no attribute") as info:
        facade.no_such_name  # noqa: B018
    assert not isinstance(info.value, NotSupportedError)


# ------------------------------------------------------------------------------ the client


def test_client_methods_mlflow_lacks_raise_not_supported():
    from modelpack.tracking import MlflowClient

    client = MlflowClient()
    assert not hasattr(client, "start_trace")
    with pytest.raises(NotSupportedError, match="MlflowClient.log_table"):
        client.log_table  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'log_metirc'") as info:
        client.log_metirc  # noqa: B018
    assert not isinstance(info.value, NotSupportedError)


def test_a_client_follows_the_store_set_after_it_was_made(tmp_path: Path):
    import modelpack
    from modelpack.tracking import MlflowClient, get_tracking_uri, set_tracking_uri

    client = MlflowClient()
    first, second = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    set_tracking_uri(first)
    assert client.tracking_uri == get_tracking_uri() == modelpack.get_store_uri() == first
    client.create_experiment("in-a")
    set_tracking_uri(second)
    assert client.get_experiment_by_name("in-a") is None
    pinned = MlflowClient(tracking_uri=first)
    assert pinned.tracking_uri == first
    assert pinned.get_experiment_by_name("in-a") is not None


def test_a_separate_registry_uri_keeps_models_apart(tmp_path: Path):
    from modelpack.tracking import MlflowClient, set_tracking_uri

    set_tracking_uri(f"sqlite:///{tmp_path}/runs.db")
    client = MlflowClient(registry_uri=f"sqlite:///{tmp_path}/registry.db")
    client.create_registered_model("kept-apart")
    assert client.get_registered_model("kept-apart").name == "kept-apart"
    assert [m.name for m in MlflowClient().search_registered_models()] == []


def test_store_errors_carry_mlflows_codes(tmp_path: Path):
    from modelpack.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/store.db")
    experiment_id = client.create_experiment("codes")
    client.create_registered_model("m")
    cases = [
        (lambda: client.get_run("0" * 32), "RESOURCE_DOES_NOT_EXIST", 404),
        (lambda: client.get_experiment("12345"), "RESOURCE_DOES_NOT_EXIST", 404),
        (lambda: client.get_registered_model("absent"), "RESOURCE_DOES_NOT_EXIST", 404),
        (lambda: client.get_model_version("m", "7"), "RESOURCE_DOES_NOT_EXIST", 404),
        (lambda: client.create_experiment("codes"), "RESOURCE_ALREADY_EXISTS", 400),
        (lambda: client.create_registered_model("m"), "RESOURCE_ALREADY_EXISTS", 400),
        (
            lambda: client.search_runs([experiment_id], filter_string="metrics.rmse <<< 1"),
            "INVALID_PARAMETER_VALUE",
            400,
        ),
    ]
    for call, code, status in cases:
        with pytest.raises(MlflowException) as info:
            call()
        assert (info.value.error_code, info.value.get_http_status_code()) == (code, status)
