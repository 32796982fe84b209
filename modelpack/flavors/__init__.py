"""The flavor interface and the flavor registry.

A flavor knows how to write one kind of model object into a directory and how to read it back.
It never writes the manifest, the environment files or digests: the core does that once for
every flavor. Built-in flavors are registered by import path and imported on first use;
third-party packages add flavors through the ``modelpack.flavors`` entry-point group, each
entry pointing at a :class:`Flavor` subclass.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from modelpack._optional import require
from modelpack.exceptions import FlavorExistsError, FlavorNotFoundError

# ``require`` is re-exported for flavors written against it; new code imports it from
# modelpack._optional, its one home.

__all__ = [
    "Flavor",
    "LoadContext",
    "MethodPredictor",
    "Predictor",
    "SaveContext",
    "all_flavors",
    "flavor_for_object",
    "get_flavor",
    "register_flavor",
    "require",
]


class Predictor(Protocol):
    """What a flavor hands the uniform predict interface.

    ``input_kind`` says what the wrapped object consumes: ``"records"`` (list of dicts),
    ``"frame"`` (pandas DataFrame), ``"array"`` (2-D numpy array) or ``"any"`` (left as given).
    """

    input_kind: str
    #: True when row i of the output depends only on row i of the input, so requests can be
    #: merged into one call (the server's adaptive batching relies on it)
    row_wise: bool

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any: ...


class MethodPredictor(Predictor, Protocol):
    """A predictor that can run other methods than its default, chosen by the caller.

    ``PyFuncModel.predict(x, params={"predict_method": name})`` checks ``name`` against
    ``methods`` and calls ``call(name, data, params)``; the core labels the columns of
    ``predict_proba``-like output with ``classes``. A predictor without ``methods`` offers
    ``("predict",)`` only.
    """

    #: the method names a caller may ask for (``modelpack._predict_methods.METHODS`` the model
    #: has, plus its default method)
    methods: tuple[str, ...]
    #: the model's class labels, in the order of its probability columns; None when unknown
    classes: Any

    def call(self, method: str, data: Any, params: dict[str, Any] | None = None) -> Any: ...


@dataclass(frozen=True)
class SaveContext:
    """What the core tells a flavor while saving."""

    model_dir: Path
    #: flavor-specific options from the public save function (serialization_format, ...)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadContext:
    """What the core tells a flavor while loading."""

    model_dir: Path
    allow_pickle: bool = True
    #: types a skops file may construct beyond skops' defaults, given by the caller of
    #: ``load_model``; never read from the model's own manifest
    trusted_types: tuple[str, ...] = ()


class Flavor(ABC):
    """One way of storing a model object. Subclasses set ``name`` and implement the methods."""

    name: ClassVar[str]
    #: the pip extra that provides this flavor's libraries, named in MissingDependencyError
    extra: ClassVar[str | None] = None
    #: the module MLflow imports to load this flavor natively (written for MLflow only)
    mlflow_module: ClassVar[str | None] = None
    #: the flavor options ``save`` reads that the generic ``modelpack.save_model`` may pass on
    save_options: ClassVar[frozenset[str]] = frozenset()

    def can_save(self, obj: Any) -> bool:
        """True when this flavor is the natural one for ``obj`` (used by ``save_model``)."""
        return False

    @abstractmethod
    def save(self, obj: Any, ctx: SaveContext) -> dict[str, Any]:
        """Write ``obj``'s files into ``ctx.model_dir``; return the flavor's manifest entry."""

    @abstractmethod
    def load(self, conf: dict[str, Any], ctx: LoadContext) -> Any:
        """Read the native object back from ``ctx.model_dir``."""

    @abstractmethod
    def predictor(self, native: Any, conf: dict[str, Any], model_dir: Path) -> Predictor:
        """Wrap a native object (freshly saved or loaded) for the uniform predict interface.

        ``model_dir`` is where the model's files are (the temporary directory during a save).
        """

    def requirements(self, conf: dict[str, Any]) -> list[str]:
        """Distribution names the saved model needs at load time (unpinned)."""
        return []

    def uses_pickle(self, conf: dict[str, Any]) -> bool:
        """True when loading deserializes a pickle (refused under ``allow_pickle=False``)."""
        return False

    def data_path(self, conf: dict[str, Any]) -> str | None:
        """The main file, written as ``python_function``'s ``model_path`` for MLflow."""
        return None

    def files(self, conf: dict[str, Any]) -> list[str]:
        """Every file or folder (relative to the model directory) ``load`` opens.

        The core checks each before ``load`` runs: inside the directory, regular files only,
        and, in a directory modelpack wrote, covered by a digest. A flavor that opens more than
        its :meth:`data_path` must list it here, or loading it is not protected.
        """
        try:
            path = self.data_path(conf)
        except KeyError:
            return []
        return [path] if path else []


_BUILTIN: dict[str, str] = {
    "sklearn": "modelpack.flavors.sklearn:SklearnFlavor",
    "xgboost": "modelpack.flavors.xgboost:XGBoostFlavor",
    "python_function": "modelpack.flavors.python_function:PythonFunctionFlavor",
}
# Order in which save_model asks flavors whether an object is theirs.
_DISPATCH_ORDER = ["xgboost", "sklearn", "python_function"]
_registered: dict[str, str | type[Flavor]] = dict(_BUILTIN)
_instances: dict[str, Flavor] = {}
_entry_points_loaded = False


def register_flavor(flavor: type[Flavor]) -> None:
    """Register a flavor class.

    Raises
    ------
    FlavorExistsError
        Another flavor is already registered under ``flavor.name``.
    """
    _load_entry_points()
    name = flavor.name
    if name in _registered and _registered[name] is not flavor:
        raise FlavorExistsError(
            f"a flavor named {name!r} is already registered ({_describe(_registered[name])}); "
            "give your Flavor subclass another name",
            flavor=name,
        )
    _registered[name] = flavor
    if name not in _DISPATCH_ORDER:
        _DISPATCH_ORDER.insert(0, name)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="modelpack.flavors"):
        if ep.name in _registered:
            raise FlavorExistsError(
                f"entry point {ep.value!r} registers flavor {ep.name!r}, which is already "
                f"registered ({_describe(_registered[ep.name])}); uninstall one of the two "
                "packages",
                flavor=ep.name,
            )
        _registered[ep.name] = ep.value.replace(" ", "")
        _DISPATCH_ORDER.insert(0, ep.name)


def _describe(target: str | type[Flavor]) -> str:
    """Where a registered flavor comes from, for error messages."""
    if isinstance(target, str):
        return f"by {target}"
    return f"by {target.__module__}.{target.__qualname__}"


def _resolve(target: str | type[Flavor]) -> type[Flavor]:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    cls: type[Flavor] = getattr(importlib.import_module(module), attr)
    return cls


def get_flavor(name: str) -> Flavor:
    """Return the flavor registered as ``name``."""
    if name in _instances:
        return _instances[name]
    _load_entry_points()
    try:
        target = _registered[name]
    except KeyError as e:
        known = ", ".join(sorted(_registered))
        raise FlavorNotFoundError(
            f"no flavor named {name!r}; known flavors: {known}. Install the package that "
            "provides it (it registers itself under the 'modelpack.flavors' entry points)",
            flavor=name,
        ) from e
    instance = _resolve(target)()
    _instances[name] = instance
    return instance


def all_flavors() -> list[str]:
    _load_entry_points()
    return sorted(_registered)


def flavor_for_object(obj: Any) -> Flavor:
    """Pick the flavor for an object from its type."""
    _load_entry_points()
    for name in _DISPATCH_ORDER:
        flavor = get_flavor(name)
        if flavor.can_save(obj):
            return flavor
    raise FlavorNotFoundError(
        f"modelpack does not know how to save a {type(obj).__module__}.{type(obj).__qualname__}; "
        "save it with a specific flavor (modelpack.sklearn.save_model, ...) or wrap it in a "
        "modelpack.pyfunc.PythonModel"
    )
