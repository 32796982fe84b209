"""The MLflow-named surface: facade modules, the client class, error codes on modelpack's errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from modelpack import exceptions as exc
from modelpack.exceptions import MlflowException, ModelpackError, NotSupportedError, RestException

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
