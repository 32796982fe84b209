"""MLflow names: the ones modelpack lacks raise an error naming the modelpack way, and
docs/mlflow-compatibility.md lists every MLflow tracking/registry name with its true status.

The MLflow names come from the installed MLflow (``mlflow_names`` below). Run this file to print
the rows of names the page does not list yet, with the status modelpack's code suggests::

    .venv/bin/python tests/test_mlflow_names.py
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._mlflow_names import _NAMES, missing_attribute, unsupported
from modelpack.exceptions import ModelpackError, NotSupportedError

DOC = Path(__file__).resolve().parents[1] / "docs" / "mlflow-compatibility.md"

#: names in ``dir(mlflow)`` that are MLflow's own plumbing, not API
_NOT_API = {
    "contextlib", "mlflow", "ml_package_versions", "legacy_databricks_cli", "mismatch",
    "typesafe", "error_classification", "version",
}  # fmt: skip

#: MLflow module -> the modelpack module that stands for it
_MODULES = {
    "mlflow": "modelpack",
    "mlflow.tracking": "modelpack.tracking",
    "mlflow.client": "modelpack.client",
    "mlflow.entities": "modelpack.entities",
    "mlflow.entities.model_registry": "modelpack.entities.model_registry",
    "mlflow.artifacts": "modelpack.artifacts",
    "mlflow.models": "modelpack.models",
    "mlflow.models.signature": "modelpack.models.signature",
    "mlflow.exceptions": "modelpack.exceptions",
    "mlflow.sklearn": "modelpack.sklearn",
    "mlflow.xgboost": "modelpack.xgboost",
    "mlflow.pyfunc": "modelpack.pyfunc",
}

#: where the top-level fluent names are implemented, for names modelpack does not export yet
_FLUENT_HOMES = (
    "modelpack._tracking",
    "modelpack._run_artifacts",
    "modelpack._registry",
    "modelpack.tracking",
    "modelpack._autolog",
    "modelpack.exceptions",
)


def _defined_in(module: types.ModuleType) -> list[str]:
    """Public functions and classes defined in ``module`` (or a private submodule of it)."""
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", "").startswith(module.__name__)
    ]


def mlflow_names() -> dict[str, list[str]]:
    """MLflow module (or ``MlflowClient``) -> its public tracking/registry names, sorted."""
    import mlflow
    import mlflow.artifacts
    import mlflow.client
    import mlflow.entities
    import mlflow.entities.model_registry
    import mlflow.exceptions
    import mlflow.models
    import mlflow.models.signature
    import mlflow.pyfunc
    import mlflow.sklearn
    import mlflow.tracking
    import mlflow.xgboost

    top = set(mlflow.__all__) | {
        n for n in dir(mlflow) if isinstance(getattr(mlflow, n, None), types.ModuleType)
    }
    client = mlflow.client.MlflowClient
    names = {
        "mlflow": top - _NOT_API,
        "mlflow.tracking": set(mlflow.tracking.__all__),
        "mlflow.client": {"MlflowClient"},
        "MlflowClient": {n for n in dir(client) if not n.startswith("_")},
        "mlflow.entities": set(mlflow.entities.__all__),
        "mlflow.entities.model_registry": set(mlflow.entities.model_registry.__all__),
        "mlflow.artifacts": set(_defined_in(mlflow.artifacts)),
        "mlflow.models": set(mlflow.models.__all__),
        "mlflow.models.signature": set(_defined_in(mlflow.models.signature)),
        "mlflow.exceptions": {
            n
            for n in _defined_in(mlflow.exceptions)
            if inspect.isclass(getattr(mlflow.exceptions, n))
            and issubclass(getattr(mlflow.exceptions, n), BaseException)
        },
        "mlflow.sklearn": set(_defined_in(mlflow.sklearn)),
        "mlflow.xgboost": set(_defined_in(mlflow.xgboost)),
        "mlflow.pyfunc": set(_defined_in(mlflow.pyfunc)),
    }
    return {k: sorted(n for n in v if not n.startswith("_")) for k, v in names.items()}


def mlflow_object(group: str, name: str) -> Any:
    import mlflow.client

    if group == "MlflowClient":
        return inspect.getattr_static(mlflow.client.MlflowClient, name)
    return getattr(importlib.import_module(group), name)


def modelpack_object(group: str, name: str) -> Any:
    """modelpack's object for MLflow's ``group.name``; raises AttributeError when absent."""
    if group == "MlflowClient":
        from modelpack._client import Client

        if name not in dir(Client):
            raise AttributeError(name)
        return inspect.getattr_static(Client, name)
    module = importlib.import_module(_MODULES[group])
    try:
        return getattr(module, name)
    except NotSupportedError:
        raise
    except AttributeError:
        if group != "mlflow":
            raise
    # a top-level name implemented but not exported yet: a fluent function or a submodule
    for home in _FLUENT_HOMES:
        found = getattr(importlib.import_module(home), name, None)
        if found is not None and not isinstance(found, types.ModuleType):
            return found
    if importlib.util.find_spec(f"modelpack.{name}") is not None:
        return importlib.import_module(f"modelpack.{name}")
    raise AttributeError(name)


def _callable(obj: Any) -> Any:
    if isinstance(obj, (staticmethod, classmethod)):
        return obj.__func__
    if isinstance(obj, property) or not callable(obj):
        return None
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        return None
    return obj


def _attributes(cls: type) -> set[str]:
    """The public attributes an instance of ``cls`` has: properties, fields, plain names."""
    names = {n for n in dir(cls) if not n.startswith("_")}
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls)}
    return names


def signature_gaps(theirs: Any, ours: Any) -> list[str]:
    """What of MLflow's ``theirs`` ours lacks: parameter names its signature does not accept,
    ``order`` when the parameters callers pass by position differ, and for an entity class
    the properties MLflow's instances have and ours lack."""
    gaps = []
    if inspect.isclass(theirs) and inspect.isclass(ours) and not issubclass(ours, BaseException):
        properties = [
            n for n in dir(theirs) if isinstance(inspect.getattr_static(theirs, n), property)
        ]
        gaps += [n for n in properties if not n.startswith("_") and n not in _attributes(ours)]
    return gaps + [g for g in _parameter_gaps(theirs, ours) if g not in gaps]


def _parameter_gaps(theirs: Any, ours: Any) -> list[str]:
    theirs, ours = _callable(theirs), _callable(ours)
    if theirs is None or ours is None:
        return []
    try:
        t_params = list(inspect.signature(theirs).parameters.values())
        o_params = list(inspect.signature(ours).parameters.values())
    except (TypeError, ValueError):
        return []
    if any(p.kind is p.VAR_KEYWORD for p in o_params):
        return []
    o_names = {p.name for p in o_params if p.kind is not p.VAR_POSITIONAL}
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    gaps = [p.name for p in t_params if p.kind not in skip and p.name not in o_names]
    # the parameters callers pass by position: the required ones and the one after them
    positional = [p.name for p in t_params if p.kind is p.POSITIONAL_OR_KEYWORD]
    required = sum(
        1 for p in t_params if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty
    )
    positional = positional[: required + 1] if required else []
    ours_positional = [
        p.name for p in o_params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)
    ]
    if ours_positional[: len(positional)] != positional and not gaps:
        gaps.append("order")
    return gaps


# ------------------------------------------------------------------- the unsupported names


@pytest.mark.parametrize(
    ("module", "name", "hint"),
    [
        ("modelpack", "log_table", "log_artifact"),
        ("modelpack", "log_input", "log_param"),
        ("modelpack", "evaluate", "log_metric"),
        ("modelpack", "set_system_metrics_sampling_interval", "log_metric"),
        ("modelpack", "start_span", "tracing"),
        ("modelpack", "run", "python"),
        ("modelpack", "langchain", "PythonModel"),
        ("modelpack", "create_external_model", "runs:/"),
        ("modelpack.tracking", "is_tracking_uri_set", "get_tracking_uri"),
        ("modelpack.entities", "LiveSpan", "tracing"),
        ("modelpack.models", "build_docker", "modelpack build-docker"),
        ("MlflowClient", "create_mcp_server", "tracing"),
        ("MlflowClient", "create_webhook", "search_model_versions"),
        ("MlflowClient", "log_inputs", "log_param"),
    ],
)
def test_an_mlflow_name_modelpack_lacks_says_what_to_do_instead(module: str, name: str, hint: str):
    error = unsupported(module, name)
    assert isinstance(error, NotSupportedError)
    assert isinstance(error, AttributeError) and isinstance(error, ModelpackError)
    assert error.error_code == "NOT_IMPLEMENTED"
    assert error.name == name
    text = str(error)
    assert f"{module}.{name}" in text and "does not implement" in text
    assert hint in text


@pytest.mark.parametrize("name", ["no_such_thing", "__path__", "__wrapped__", "_private"])
def test_a_name_mlflow_does_not_have_is_left_to_the_usual_attribute_error(name: str):
    assert unsupported("modelpack", name) is None
    hook = missing_attribute("modelpack.example")
    with pytest.raises(AttributeError, match="has no attribute") as info:
        hook(name)
    assert not isinstance(info.value, NotSupportedError)


def test_a_facade_module_raises_not_supported_and_hasattr_stays_false():
    import modelpack.models

    assert not hasattr(modelpack.models, "evaluate")
    with pytest.raises(NotSupportedError, match="modelpack build-docker"):
        modelpack.models.build_docker  # noqa: B018
    with pytest.raises(AttributeError):
        modelpack.models.no_such_thing  # noqa: B018


#: MLflow module in the table -> the modelpack object whose attributes it stands for
def _modelpack_object(module: str) -> object | None:
    import importlib

    if module == "mlflow.MlflowClient":
        from modelpack._client import Client

        return Client
    if module == "mlflow.exceptions":
        return modelpack.exceptions
    name = "modelpack" + module[len("mlflow") :]
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@pytest.mark.parametrize("module", sorted(_NAMES))
def test_no_entry_names_something_modelpack_implements(module: str):
    target = _modelpack_object(module)
    if target is None:
        pytest.skip(f"no modelpack module for {module}")
    implemented = sorted(
        name for name in _NAMES[module] if name in dir(target) or name in vars(type(target))
    )
    assert implemented == [], f"stale entries in _mlflow_names for {module}: {implemented}"


# ------------------------------------------------------------------ the compatibility page

_SECTION = re.compile(r"^## `([^`]+)`")
_ROW = re.compile(r"^\| `([^`]+)` \| (supported|difference|not supported) \| (.*) \|$")


def doc_rows() -> dict[tuple[str, str], tuple[str, str]]:
    """(group, name) -> (status, notes) for every row of the page."""
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    group = None
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    for line in text.splitlines():
        section = _SECTION.match(line)
        if section:
            group = section.group(1)
            continue
        row = _ROW.match(line)
        if row and group is not None:
            name = row.group(1).rpartition(".")[2]
            assert (group, name) not in rows, f"{group}.{name} is listed twice"
            rows[(group, name)] = (row.group(2), row.group(3).strip())
    return rows


def _hooked(group: str) -> str | None:
    """The name a modelpack hook reports ``group`` under, if a hook answers for it."""
    if group == "MlflowClient":
        return "MlflowClient"
    if group in ("mlflow.exceptions", "mlflow.sklearn", "mlflow.xgboost", "mlflow.pyfunc"):
        return None  # plain modules without a hook
    if group == "mlflow.artifacts":
        return None
    return _MODULES[group]


needs_mlflow = pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None, reason="MLflow is not installed"
)


@needs_mlflow
def test_the_page_lists_exactly_mlflows_names():
    listed = set(doc_rows())
    expected = {(group, name) for group, names in mlflow_names().items() for name in names}
    assert sorted(expected - listed) == [], "MLflow names missing from the page (run this file)"
    assert sorted(listed - expected) == [], "names on the page that MLflow does not have"


def _rows(status: str) -> list[tuple[str, str, str]]:
    return [(g, n, notes) for (g, n), (st, notes) in sorted(doc_rows().items()) if st == status]


@needs_mlflow
@pytest.mark.parametrize(("group", "name", "notes"), _rows("supported") + _rows("difference"))
def test_a_supported_name_exists_and_accepts_mlflows_parameters(group: str, name: str, notes: str):
    ours = modelpack_object(group, name)
    gaps = signature_gaps(mlflow_object(group, name), ours)
    status = doc_rows()[(group, name)][0]
    if status == "supported":
        assert gaps == [], f"{group}.{name}: ours lacks {gaps}; mark it difference and say so"
    else:
        assert notes, f"{group}.{name}: say what differs"
        unexplained = [g for g in gaps if (f"`{g}`" if g != "order" else "order") not in notes]
        assert unexplained == [], f"{group}.{name}: the notes must name {unexplained}"


@pytest.mark.parametrize(("group", "name", "notes"), _rows("not supported"))
def test_a_name_marked_not_supported_is_absent_and_says_why(group: str, name: str, notes: str):
    assert notes, f"{group}.{name}: say what to do instead"
    with pytest.raises(AttributeError):
        modelpack_object(group, name)
    hook = _hooked(group)
    if hook is not None:
        assert unsupported(hook, name) is not None, f"add {group}.{name} to _mlflow_names"


def test_every_supported_top_level_name_is_exported():
    rows = [n for (g, n), (st, _) in doc_rows().items() if g == "mlflow" and st != "not supported"]
    missing = sorted(n for n in rows if n not in dir(modelpack))
    assert not missing, f"not exported from modelpack (modelpack/__init__.py): {missing}"


def _suggest(group: str, name: str) -> tuple[str, str]:
    try:
        ours = modelpack_object(group, name)
    except AttributeError:
        hook = _hooked(group)
        error = unsupported(hook, name) if hook else None
        advice = str(error).partition("does not implement: ")[2] if error else "TODO"
        return "not supported", advice
    gaps = signature_gaps(mlflow_object(group, name), ours)
    if not gaps:
        return "supported", ""
    return "difference", "no " + ", ".join(f"`{g}`" for g in gaps)


def main() -> None:
    listed = doc_rows()
    for group, names in mlflow_names().items():
        missing = [n for n in names if (group, n) not in listed]
        if not missing:
            continue
        print(f"\n## `{group}`\n\n| MLflow | status | notes |\n|---|---|---|")
        for name in missing:
            status, notes = _suggest(group, name)
            shown = name if group == "MlflowClient" else f"{group}.{name}"
            print(f"| `{shown}` | {status} | {notes} |")
    sys.exit(0)


if __name__ == "__main__":
    main()
