"""From a public ``save_model``/``log_model`` call to the core's :class:`SaveOptions`.

There are eight public wrappers (``modelpack.save_model``/``log_model`` and those of
``modelpack.sklearn``, ``modelpack.xgboost`` and ``modelpack.pyfunc``). Each keeps an explicit
signature, for readers, editors and type checkers, and hands its ``locals()`` to
:func:`save_as` or :func:`log_as`; the parameters are sorted out here, once:

- the model (the first parameter, named as in :data:`MODEL_PARAMETERS`);
- where it goes (``path``, or ``name`` inside the run) and what happens around the save
  (``overwrite``, ``registered_model_name``);
- :data:`COMMON` parameters, the same in every wrapper, passed to the core as they are;
- anything else is an option of the flavor (``serialization_format``, ``model_format``, ...).

A flavor-specific wrapper passes all its options to its flavor. The generic wrappers pass an
option only when it is given, and only to a flavor that declares it in ``save_options``: giving
one the chosen flavor does not take is an error rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.flavors import flavor_for_object, get_flavor

if TYPE_CHECKING:
    from modelpack._save import ModelInfo, SaveOptions

__all__ = ["COMMON", "MODEL_PARAMETERS", "log_as", "save_as"]

#: parameters every wrapper takes, with the same meaning and default
COMMON = (
    "preprocessor",
    "signature",
    "input_example",
    "pip_requirements",
    "extra_pip_requirements",
    "code_paths",
    "metadata",
)
#: what the wrappers call the model they save
MODEL_PARAMETERS = ("model", "sk_model", "xgb_model", "python_model")
#: where ``log_model`` puts a model inside its run unless told otherwise
DEFAULT_NAME = "model"
_PLACEMENT = (
    "path",
    "name",
    "artifact_path",
    "overwrite",
    "registered_model_name",
    "await_registration_for",
    "flavor",
)
_NOT_FLAVOR_OPTIONS = frozenset((*COMMON, *MODEL_PARAMETERS, *_PLACEMENT))


def save_as(flavor: str | None, arguments: Mapping[str, Any]) -> ModelInfo:
    """Save with the arguments of a public ``save_model`` (its ``locals()``).

    ``flavor`` is the wrapper's flavor, or None for ``modelpack.save_model``.
    """
    from modelpack._save import save

    model, options = _options(flavor, arguments)
    path: str | Path = arguments["path"]
    return save(model, path, options)


def log_as(flavor: str | None, arguments: Mapping[str, Any]) -> ModelInfo:
    """Log with the arguments of a public ``log_model`` (its ``locals()``)."""
    from modelpack._tracking import log_model_with

    model, options = _options(flavor, arguments)
    return log_model_with(
        model,
        _artifact_name(arguments["name"], arguments["artifact_path"]),
        options,
        registered_model_name=arguments["registered_model_name"],
    )


def _artifact_name(name: str, artifact_path: str | None) -> str:
    """``name``, or MLflow's older ``artifact_path`` spelling of it when that is given."""
    if artifact_path is None:
        return str(name)
    if name not in (DEFAULT_NAME, artifact_path):
        raise TypeError(
            f"log_model got name={name!r} and artifact_path={artifact_path!r}; they are the "
            "same setting (artifact_path is MLflow's older spelling): give only one"
        )
    return str(artifact_path)


def _options(flavor: str | None, arguments: Mapping[str, Any]) -> tuple[Any, SaveOptions]:
    from modelpack._save import SaveOptions

    model = next(arguments[key] for key in MODEL_PARAMETERS if key in arguments)
    flavor_options = {k: v for k, v in arguments.items() if k not in _NOT_FLAVOR_OPTIONS}
    if flavor is None:
        flavor, flavor_options = _generic(model, arguments["flavor"], flavor_options)
    options = SaveOptions(
        flavor=flavor,
        flavor_options=flavor_options,
        overwrite=bool(arguments.get("overwrite", False)),
        **{key: arguments[key] for key in COMMON},
    )
    return model, options


def _generic(
    model: Any, name: str | None, given: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """The flavor options of ``modelpack.save_model``/``log_model`` that apply, checked."""
    given = {k: v for k, v in given.items() if _given(v)}
    if not given:
        return name, {}
    flavor = get_flavor(name) if name else flavor_for_object(model)
    # A flavor declares the options its save takes; one that declares none takes none of them.
    accepted = flavor.save_options
    refused = sorted(set(given) - set(accepted))
    if refused:
        takes = ", ".join(sorted(accepted)) or "none of them"
        raise TypeError(
            f"{', '.join(refused)} is not an option of the {flavor.name!r} flavor, which saves "
            f"this model (it takes {takes}); leave it out, or pass flavor= naming a flavor "
            "that takes it"
        )
    return flavor.name, given


def _given(value: Any) -> bool:
    """None, and an empty mapping (``artifacts={}``), mean "not given"."""
    return value is not None and not (isinstance(value, Mapping) and not value)
