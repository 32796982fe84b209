"""modelpack: package trained models once; save, find, load, serve and ship them anywhere.

``import modelpack`` is light: it imports only the standard library. Every name below is
loaded on first use, and the heavy libraries (numpy, pandas, scikit-learn, XGBoost, the server
stack) only when a model needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelpack._version import __version__

if TYPE_CHECKING:
    from modelpack import (
        artifacts,
        client,
        entities,
        exceptions,
        models,
        pyfunc,
        serving,
        sklearn,
        tracking,
        xgboost,
    )
    from modelpack._api import load_model, log_model, save_model
    from modelpack._autolog import autolog
    from modelpack._client import Client, MlflowClient
    from modelpack._registry import (
        copy_model_version,
        create_model_version,
        create_registered_model,
        delete_alias,
        delete_model_version,
        delete_model_version_tag,
        delete_registered_model,
        delete_registered_model_alias,
        delete_registered_model_tag,
        get_latest_versions,
        get_model_version,
        get_model_version_by_alias,
        get_model_version_download_uri,
        get_registered_model,
        register_model,
        rename_registered_model,
        search_model_versions,
        search_registered_models,
        set_alias,
        set_model_version_tag,
        set_registered_model_alias,
        set_registered_model_tag,
        transition_model_version_stage,
        update_model_version,
        update_registered_model,
    )
    from modelpack._run_artifacts import (
        get_artifact_uri,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_text,
    )
    from modelpack._save import ModelInfo
    from modelpack._signature import (
        ColSpec,
        ParamSpec,
        Schema,
        Signature,
        TensorSpec,
        infer_signature,
    )
    from modelpack._store import (
        Experiment,
        Metric,
        ModelVersion,
        RegisteredModel,
        Run,
        get_store_uri,
        set_store_uri,
    )
    from modelpack._store import get_store_uri as get_registry_uri
    from modelpack._store import get_store_uri as get_tracking_uri
    from modelpack._store import set_store_uri as set_registry_uri
    from modelpack._store import set_store_uri as set_tracking_uri
    from modelpack._tracking import (
        ActiveRun,
        active_run,
        create_experiment,
        delete_experiment,
        delete_run,
        delete_tag,
        end_run,
        get_experiment,
        get_experiment_by_name,
        get_metric_history,
        get_run,
        last_active_run,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_experiments,
        search_runs,
        set_experiment,
        set_experiment_tag,
        set_experiment_tags,
        set_tag,
        set_tags,
        start_run,
    )
    from modelpack.batch import predict_file, spark_udf
    from modelpack.exceptions import MlflowException
    from modelpack.flavors import Flavor, register_flavor
    from modelpack.pyfunc import PyFuncModel, PythonModel

# public name -> "module:attribute" (or "module" for a submodule)
_LAZY: dict[str, str] = {
    "save_model": "modelpack._api:save_model",
    "load_model": "modelpack._api:load_model",
    "log_model": "modelpack._api:log_model",
    "autolog": "modelpack._autolog:autolog",
    "set_store_uri": "modelpack._store:set_store_uri",
    "get_store_uri": "modelpack._store:get_store_uri",
    "start_run": "modelpack._tracking:start_run",
    "active_run": "modelpack._tracking:active_run",
    "end_run": "modelpack._tracking:end_run",
    "log_param": "modelpack._tracking:log_param",
    "log_params": "modelpack._tracking:log_params",
    "log_metric": "modelpack._tracking:log_metric",
    "log_metrics": "modelpack._tracking:log_metrics",
    "set_tag": "modelpack._tracking:set_tag",
    "set_tags": "modelpack._tracking:set_tags",
    "set_experiment": "modelpack._tracking:set_experiment",
    "get_run": "modelpack._tracking:get_run",
    "get_metric_history": "modelpack._tracking:get_metric_history",
    "search_runs": "modelpack._tracking:search_runs",
    "ActiveRun": "modelpack._tracking:ActiveRun",
    "register_model": "modelpack._registry:register_model",
    "create_registered_model": "modelpack._registry:create_registered_model",
    "get_registered_model": "modelpack._registry:get_registered_model",
    "search_registered_models": "modelpack._registry:search_registered_models",
    "update_registered_model": "modelpack._registry:update_registered_model",
    "delete_registered_model": "modelpack._registry:delete_registered_model",
    "set_registered_model_tag": "modelpack._registry:set_registered_model_tag",
    "delete_registered_model_tag": "modelpack._registry:delete_registered_model_tag",
    "get_model_version": "modelpack._registry:get_model_version",
    "get_model_version_by_alias": "modelpack._registry:get_model_version_by_alias",
    "get_latest_versions": "modelpack._registry:get_latest_versions",
    "search_model_versions": "modelpack._registry:search_model_versions",
    "update_model_version": "modelpack._registry:update_model_version",
    "delete_model_version": "modelpack._registry:delete_model_version",
    "set_model_version_tag": "modelpack._registry:set_model_version_tag",
    "delete_model_version_tag": "modelpack._registry:delete_model_version_tag",
    "set_alias": "modelpack._registry:set_alias",
    "delete_alias": "modelpack._registry:delete_alias",
    "transition_model_version_stage": "modelpack._registry:transition_model_version_stage",
    "Run": "modelpack._store:Run",
    "Experiment": "modelpack._store:Experiment",
    "Metric": "modelpack._store:Metric",
    "ModelVersion": "modelpack._store:ModelVersion",
    "RegisteredModel": "modelpack._store:RegisteredModel",
    "ModelInfo": "modelpack._save:ModelInfo",
    "PyFuncModel": "modelpack.pyfunc:PyFuncModel",
    "PythonModel": "modelpack.pyfunc:PythonModel",
    "Signature": "modelpack._signature:Signature",
    "Schema": "modelpack._signature:Schema",
    "ColSpec": "modelpack._signature:ColSpec",
    "TensorSpec": "modelpack._signature:TensorSpec",
    "ParamSpec": "modelpack._signature:ParamSpec",
    "infer_signature": "modelpack._signature:infer_signature",
    "predict_file": "modelpack.batch:predict_file",
    "spark_udf": "modelpack.batch:spark_udf",
    "Flavor": "modelpack.flavors:Flavor",
    "register_flavor": "modelpack.flavors:register_flavor",
    "exceptions": "modelpack.exceptions",
    "MlflowException": "modelpack.exceptions:MlflowException",
    "pyfunc": "modelpack.pyfunc",
    "sklearn": "modelpack.sklearn",
    "xgboost": "modelpack.xgboost",
    "serving": "modelpack.serving",
    "set_tracking_uri": "modelpack._store:set_store_uri",
    "get_tracking_uri": "modelpack._store:get_store_uri",
    "set_registry_uri": "modelpack._store:set_store_uri",
    "get_registry_uri": "modelpack._store:get_store_uri",
    "create_experiment": "modelpack._tracking:create_experiment",
    "get_experiment": "modelpack._tracking:get_experiment",
    "get_experiment_by_name": "modelpack._tracking:get_experiment_by_name",
    "search_experiments": "modelpack._tracking:search_experiments",
    "delete_experiment": "modelpack._tracking:delete_experiment",
    "set_experiment_tag": "modelpack._tracking:set_experiment_tag",
    "set_experiment_tags": "modelpack._tracking:set_experiment_tags",
    "delete_run": "modelpack._tracking:delete_run",
    "delete_tag": "modelpack._tracking:delete_tag",
    "last_active_run": "modelpack._tracking:last_active_run",
    "log_artifact": "modelpack._run_artifacts:log_artifact",
    "log_artifacts": "modelpack._run_artifacts:log_artifacts",
    "log_text": "modelpack._run_artifacts:log_text",
    "log_dict": "modelpack._run_artifacts:log_dict",
    "log_figure": "modelpack._run_artifacts:log_figure",
    "log_image": "modelpack._run_artifacts:log_image",
    "get_artifact_uri": "modelpack._run_artifacts:get_artifact_uri",
    "rename_registered_model": "modelpack._registry:rename_registered_model",
    "create_model_version": "modelpack._registry:create_model_version",
    "copy_model_version": "modelpack._registry:copy_model_version",
    "set_registered_model_alias": "modelpack._registry:set_registered_model_alias",
    "delete_registered_model_alias": "modelpack._registry:delete_registered_model_alias",
    "get_model_version_download_uri": "modelpack._registry:get_model_version_download_uri",
    "Client": "modelpack._client:Client",
    "MlflowClient": "modelpack._client:MlflowClient",
    "artifacts": "modelpack.artifacts",
    "client": "modelpack.client",
    "entities": "modelpack.entities",
    "models": "modelpack.models",
    "tracking": "modelpack.tracking",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        # An MLflow name modelpack does not implement says so, and what to use instead.
        from modelpack._mlflow_names import unsupported

        error = unsupported(__name__, name)
        if error is not None:
            raise error
        raise AttributeError(f"module 'modelpack' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
