"""MLflow names that modelpack does not implement, and what to do instead.

``import modelpack as mlflow`` runs MLflow training and registry code unchanged as long as it
uses what modelpack implements. For everything else, asking a module (``modelpack``,
``modelpack.tracking``, ``modelpack.entities``, ...) or a client for the MLflow name raises
:class:`~modelpack.exceptions.NotSupportedError` saying so and naming the modelpack way,
instead of a bare ``AttributeError``. That error is an ``AttributeError`` too, so ``hasattr``
stays False.

The modules' ``__getattr__`` hooks call :func:`unsupported`, which looks the name up in
``_NAMES`` (per MLflow module) and then in ``_TOPICS`` (whole MLflow features, found by a word
of the name, so that the many names of one feature, and ones MLflow adds later, get one
answer). A name in neither is simply unknown: the hook raises the usual ``AttributeError``.
``docs/mlflow-compatibility.md`` lists every MLflow name with its status; a test keeps the two
in step.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import NoReturn

from modelpack.exceptions import NotSupportedError

__all__ = ["missing_attribute", "unsupported"]

_FLAVORS = (
    "modelpack has the sklearn, xgboost and python_function flavors: save this kind of model "
    "with its library's own format and log it as a modelpack.pyfunc.PythonModel "
    "(modelpack.pyfunc.log_model(python_model=..., artifacts={...}))"
)
_TRACING = (
    "GenAI tracing, prompts and LLM evaluation are outside modelpack, which tracks and packages "
    "trained ML models; keep using MLflow for them"
)
_LOGGED_MODELS = (
    "MLflow 3's logged-model entities are not separate objects in modelpack: a model logged with "
    "<flavor>.log_model lives in its run (runs:/<run_id>/<name>); log_model returns its ModelInfo "
    "(model_uri, run_id), and search_runs finds the run"
)
_DATASETS = (
    "datasets are not tracked: log the data's location with log_param and the file itself, if "
    "small, with log_artifact"
)
_SYSTEM_METRICS = (
    "modelpack does not sample CPU, memory or GPU use: measure what you need and record it "
    "with log_metric"
)
_WORKSPACES = "workspaces are not supported: give each team its own store URI"
_WEBHOOKS = "registry webhooks are not supported: poll search_model_versions instead"
_EVALUATE = (
    "model evaluation is not supported: compute the metrics with your library (e.g. "
    "sklearn.metrics) and record them with log_metric / log_metrics"
)
_TABLES = (
    "tables are not tracked: write the table to a file (DataFrame.to_parquet or to_json) and "
    "log it with log_artifact; read it back with modelpack.artifacts.download_artifacts"
)
_ASYNC = (
    "modelpack writes every log call before it returns, so there is nothing to flush: "
    "remove the call"
)
_DEPLOY = (
    "serve the model with `modelpack serve MODEL_URI`, or ship it with `modelpack pack` / "
    "`modelpack build-docker`"
)

#: MLflow module -> name -> what to do instead
_NAMES: dict[str, dict[str, str]] = {
    "mlflow": {
        "Image": "log images with log_image (a NumPy array or PIL image) or log_artifact",
        "config": "set the store with set_tracking_uri or MODELPACK_STORE_URI",
        "context": "run context tags (user, source, git commit) are recorded by start_run itself",
        "data": _DATASETS,
        "deployments": _DEPLOY,
        "doctor": "report `python -m modelpack --version` and `pip list` instead",
        "environment_variables": (
            "modelpack reads MODELPACK_STORE_URI (the store); MLflow's variables are ignored"
        ),
        "evaluate": _EVALUATE,
        "flush_artifact_async_logging": _ASYNC,
        "flush_async_logging": _ASYNC,
        "gateway": _TRACING,
        "import_checkpoints": "log checkpoint files with log_artifacts",
        "is_tracking_uri_set": "compare get_tracking_uri() with the URI you expect",
        "delete_experiment_tag": "call MlflowClient().delete_experiment_tag(experiment_id, key)",
        "get_parent_run": "call MlflowClient().get_parent_run(run_id)",
        "restore_experiment": "call MlflowClient().restore_experiment(experiment_id)",
        "restore_run": "call MlflowClient().restore_run(run_id)",
        "log_input": _DATASETS,
        "log_inputs": _DATASETS,
        "log_outputs": _LOGGED_MODELS,
        "log_model_params": _LOGGED_MODELS,
        "load_table": _TABLES,
        "log_table": _TABLES,
        "log_stream": "write the stream to a file and log it with log_artifact",
        "login": "a modelpack store needs no Databricks login",
        "pytest": "MLflow's test helpers are not part of modelpack",
        "test": "MLflow's test helpers are not part of modelpack",
        "azure": "the Azure ML integration is not part of modelpack",
        "metrics": _EVALUATE,
        "projects": (
            "MLflow Projects are not supported: run the training script with python; it logs "
            "through start_run like any other script"
        ),
        "protos": (
            "MLflow's protocol modules are not part of modelpack: give error codes by name, "
            'e.g. MlflowException("...", error_code="RESOURCE_DOES_NOT_EXIST")'
        ),
        "run": (
            "MLflow Projects are not supported: run the training script with python; it logs "
            "through start_run like any other script"
        ),
        "store": "the store is internal; use MlflowClient or the module functions",
        "system_metrics": _SYSTEM_METRICS,
        "telemetry": "modelpack sends no telemetry",
        "types": (
            "Schema, ColSpec, TensorSpec and ParamSpec are modelpack.Schema, modelpack.ColSpec, "
            "modelpack.TensorSpec and modelpack.ParamSpec"
        ),
        "utils": "MLflow's utilities are internal to MLflow",
        "validate_evaluation_results": _EVALUATE,
    },
    "mlflow.tracking": {
        "is_tracking_uri_set": "compare get_tracking_uri() with the URI you expect",
    },
    "mlflow.MlflowClient": {
        "get_model_version_stages": (
            'stages are fixed in modelpack: "None", "Staging", "Production", "Archived"'
        ),
        "load_table": _TABLES,
        "log_table": _TABLES,
        "log_stream": "write the stream to a file and log it with log_artifact",
        "log_inputs": _DATASETS,
        "log_outputs": _LOGGED_MODELS,
        "log_model_params": _LOGGED_MODELS,
        "log_model_artifact": _LOGGED_MODELS,
        "log_model_artifacts": _LOGGED_MODELS,
    },
    "mlflow.entities": {
        "ExperimentTag": "an experiment's tags are a dict: experiment.tags",
        "SourceType": 'where a run came from is its "mlflow.source.type" tag',
        "RunInputs": _DATASETS,
        "RunOutputs": _LOGGED_MODELS,
        "InputTag": _DATASETS,
        "Document": _TRACING,
        "EntityAssociationType": _TRACING,
        "ConnectOptionSettings": _TRACING,
        "Link": _TRACING,
        "Session": _TRACING,
        "UnityCatalog": "Unity Catalog is not supported: use a modelpack store",
        "UCSchemaLocation": "Unity Catalog is not supported: use a modelpack store",
        "InferenceTableLocation": _TRACING,
        "MlflowExperimentLocation": _TRACING,
        "RoutingStrategy": _TRACING,
        "FallbackConfig": _TRACING,
        "FallbackStrategy": _TRACING,
        "ScorerVersion": _TRACING,
    },
    "mlflow.entities.model_registry": {
        "ModelVersionTag": "a version's tags are a dict: model_version.tags",
        "RegisteredModelTag": "a registered model's tags are a dict: registered_model.tags",
        "RegisteredModelAlias": (
            "a registered model's aliases are a dict alias -> version: registered_model.aliases"
        ),
        "ModelVersionSearch": "search_model_versions returns ModelVersion objects",
        "RegisteredModelSearch": "search_registered_models returns RegisteredModel objects",
        "ModelVersionDeploymentJobState": "deployment jobs are a Databricks feature",
        "RegisteredModelDeploymentJobState": "deployment jobs are a Databricks feature",
    },
    "mlflow.models": {
        "EvaluationArtifact": _EVALUATE,
        "EvaluationMetric": _EVALUATE,
        "EvaluationResult": _EVALUATE,
        "MetricThreshold": _EVALUATE,
        "evaluate": _EVALUATE,
        "list_evaluators": _EVALUATE,
        "make_metric": _EVALUATE,
        "FlavorBackend": _DEPLOY,
        "build_docker": "run `modelpack build-docker MODEL_URI`",
        "predict": "run `modelpack predict MODEL_URI` or call modelpack.pyfunc.load_model(uri).predict",
        "Model": (
            "read a model's manifest with modelpack.models.get_model_info(uri) (flavors, "
            "signature, run_id, ...)"
        ),
        "ModelConfig": _TRACING,
        "Resource": _TRACING,
        "ResourceType": _TRACING,
        "set_model": _TRACING,
        "set_retriever_schema": _TRACING,
        "ModelInputExample": "pass the example itself as input_example= to save_model / log_model",
        "add_libraries_to_model": "pack the model with `modelpack pack`, which bundles its wheels",
        "update_model_requirements": (
            "give pip_requirements= / extra_pip_requirements= when saving; a saved model's "
            "files are covered by digests and are not edited in place"
        ),
        "set_signature": (
            "give signature= when saving (or save again); a saved model's manifest is covered "
            "by digests and is not edited in place"
        ),
        "infer_pip_requirements": "save_model writes requirements.txt from the imports it detects",
        "convert_input_example_to_serving_input": (
            'send {"dataframe_split": df.to_dict(orient="split")} to `modelpack serve`'
        ),
        "validate_serving_input": (
            "load the model with modelpack.pyfunc.load_model and call predict on the input"
        ),
        "validate_schema": "modelpack.pyfunc.load_model(uri).predict checks input against the signature",
    },
    "mlflow.models.signature": {
        "set_signature": (
            "give signature= when saving (or save again); a saved model's manifest is covered "
            "by digests and is not edited in place"
        ),
    },
    "mlflow.exceptions": {
        "MlflowNotImplementedException": "modelpack raises NotSupportedError",
        "ExecutionException": "MLflow Projects are not supported",
        "MissingConfigException": "modelpack raises StoreError for a store it cannot open",
        "InvalidUrlException": "modelpack raises StoreError for a URI it cannot use",
    },
}

#: a word of the name -> the MLflow feature it belongs to, for every module
_TOPICS: dict[str, str] = {
    **dict.fromkeys(
        [
            "trace",
            "traces",
            "span",
            "spans",
            "prompt",
            "prompts",
            "assessment",
            "feedback",
            "expectation",
            "issue",
            "gateway",
            "mcp",
            "guardrail",
            "budget",
            "agent",
            "genai",
            "otel",
            "tracing",
            "secret",
            "scorer",
            "judge",
            "session",
            "sessions",
        ],
        _TRACING,
    ),
    **dict.fromkeys(("dataset", "datasets"), _DATASETS),
    **dict.fromkeys(("workspace", "workspaces"), _WORKSPACES),
    **dict.fromkeys(("webhook", "webhooks"), _WEBHOOKS),
    "system": _SYSTEM_METRICS,
    "logged": _LOGGED_MODELS,
    "active_model": _LOGGED_MODELS,
    "external": _LOGGED_MODELS,
}

#: MLflow's other flavor modules (``mlflow.<name>``)
_FLAVOR_MODULES = frozenset(
    [
        "ag2",
        "agno",
        "anthropic",
        "autogen",
        "bedrock",
        "catboost",
        "crewai",
        "diffusers",
        "dspy",
        "gemini",
        "groq",
        "h2o",
        "haystack",
        "johnsnowlabs",
        "keras",
        "langchain",
        "lightgbm",
        "litellm",
        "llama_index",
        "mistral",
        "onnx",
        "openai",
        "paddle",
        "pmdarima",
        "prophet",
        "pydantic_ai",
        "pyspark",
        "pytorch",
        "rfunc",
        "semantic_kernel",
        "sentence_transformers",
        "shap",
        "smolagents",
        "spacy",
        "spark",
        "statsmodels",
        "strands",
        "tensorflow",
        "transformers",
        "txtai",
    ]
)

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _mlflow_module(module_name: str) -> str:
    """``modelpack.tracking`` -> ``mlflow.tracking``; ``MlflowClient`` -> ``mlflow.MlflowClient``."""
    if module_name in ("MlflowClient", "Client", "modelpack.MlflowClient", "modelpack.Client"):
        return "mlflow.MlflowClient"
    if module_name == "modelpack" or module_name.startswith("modelpack."):
        return "mlflow" + module_name[len("modelpack") :]
    return module_name


def _advice(module: str, attr: str) -> str | None:
    text = _NAMES.get(module, {}).get(attr)
    if text is not None:
        return text
    if module == "mlflow" and attr in _FLAVOR_MODULES:
        return _FLAVORS
    words = [w.lower() for w in _WORD.findall(attr)]
    for first, second in itertools.pairwise(words):  # two-word topics: "active_model"
        if f"{first}_{second}" in _TOPICS:
            return _TOPICS[f"{first}_{second}"]
    for word in words:
        if word in _TOPICS:
            return _TOPICS[word]
    return None


def unsupported(module_name: str, attr: str) -> NotSupportedError | None:
    """The error to raise for ``module_name.attr`` if it is an MLflow name modelpack lacks.

    Parameters
    ----------
    module_name : str
        The modelpack module asked (``"modelpack"``, ``"modelpack.tracking"``, ...), its MLflow
        counterpart (``"mlflow.entities"``), or ``"MlflowClient"`` for a client method.
    attr : str
        The name asked for.

    Returns
    -------
    NotSupportedError or None
        The error saying what to use instead, or None when ``attr`` is no MLflow name modelpack
        knows of (the caller raises its usual ``AttributeError``).
    """
    if attr.startswith("_"):  # dunder probes (__path__, __wrapped__, ...) are never MLflow's
        return None
    module = _mlflow_module(module_name)
    advice = _advice(module, attr)
    if advice is None:
        return None
    return NotSupportedError(
        f"{module_name}.{attr} is MLflow's {module}.{attr}, which modelpack does not implement: "
        f"{advice}",
        name=attr,
    )


def missing_attribute(module_name: str) -> Callable[[str], NoReturn]:
    """A module ``__getattr__`` for ``module_name``: NotSupportedError for an MLflow name
    modelpack lacks, else the usual ``AttributeError``."""

    def __getattr__(name: str) -> NoReturn:
        error = unsupported(module_name, name)
        if error is not None:
            raise error
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__
