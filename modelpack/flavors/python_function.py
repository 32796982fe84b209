"""The ``python_function`` flavor for custom models: a ``PythonModel`` or a plain callable.

The object is stored with cloudpickle as ``python_model.pkl``; files given as ``artifacts``
are copied into ``artifacts/`` and handed back through ``context.artifacts`` at load time.

Artifacts are copied as the store copies a model (:mod:`modelpack._safe_copy`): the path the
caller names may itself be a link (it is the caller's own choice, resolved as ``cp -L`` would
resolve a command-line argument), but inside a named folder nothing is followed. A link there
(wherever it points), a FIFO, a socket or a device is an IntegrityError naming it, so a link
planted in a data folder never copies ``~/.aws/credentials`` into a model that will be shared,
and a FIFO never blocks the save.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from modelpack._predict_methods import METHODS, available
from modelpack._python_model import (
    PythonModel,
    PythonModelContext,
    _FunctionModel,
    as_python_model,
)
from modelpack._safe_copy import copy_model_file, copy_model_tree
from modelpack._serialize import dump_object, load_object
from modelpack.flavors import Flavor, LoadContext, SaveContext

__all__ = ["PythonFunctionFlavor"]

_MODEL_FILE = "python_model"


def _copy_artifacts(artifacts: dict[str, str], model_dir: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    root = model_dir / "artifacts"
    for name, source in artifacts.items():
        src = Path(source)
        if not src.exists():
            raise FileNotFoundError(f"artifact {name!r} points at {source}, which does not exist")
        root.mkdir(exist_ok=True)
        dest = root / src.name
        if dest.exists():
            dest = root / f"{name}-{src.name}"
        action = f"save the artifact {name!r} from"
        if src.is_dir():
            copy_model_tree(src, dest, action=action, tree="the artifact folder")
        else:
            copy_model_file(src, dest, action=action)
        out[name] = {"path": dest.relative_to(model_dir).as_posix()}
    return out


class _PythonModelPredictor:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.input_kind = getattr(model, "input_kind", "frame")
        self.row_wise = bool(getattr(model, "row_wise", False))
        predict = model.predict
        names = list(inspect.signature(predict).parameters)
        # MLflow's older PythonModel.predict takes (context, model_input, params).
        self._wants_context = bool(names) and names[0] == "context"
        self._context = getattr(model, "_modelpack_context", None)
        self._takes_params = "params" in names or not isinstance(model, PythonModel)
        # A PythonModel may define predict_proba & co. beside predict (same arguments); a
        # wrapped plain callable has predict only.
        own = () if isinstance(model, _FunctionModel) else available(model, METHODS[1:])
        self.methods: tuple[str, ...] = ("predict", *own)
        self.classes = getattr(model, "classes_", None)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._run(self.model.predict, data, params)

    def call(self, method: str, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._run(getattr(self.model, method), data, params)

    def _run(self, fn: Any, data: Any, params: dict[str, Any] | None) -> Any:
        if self._wants_context:
            return fn(self._context, data, params=params)
        if self._takes_params:
            return fn(data, params=params)
        return fn(data)


class PythonFunctionFlavor(Flavor):
    name = "python_function"
    extra = None
    mlflow_module = None
    #: options ``save`` reads, which ``modelpack.save_model`` may also pass
    save_options = frozenset({"artifacts"})

    def can_save(self, obj: Any) -> bool:
        return isinstance(obj, PythonModel) or (callable(obj) and not hasattr(obj, "fit"))

    def save(self, obj: Any, ctx: SaveContext) -> dict[str, Any]:
        model = as_python_model(obj)
        conf: dict[str, Any] = {}
        if ctx.options.get("artifacts"):
            conf["artifacts"] = _copy_artifacts(dict(ctx.options["artifacts"]), ctx.model_dir)
        name, fmt = dump_object(model, ctx.model_dir, _MODEL_FILE, fmt="cloudpickle")
        conf["python_model"] = name
        conf["serialization_format"] = fmt
        return conf

    def load(self, conf: dict[str, Any], ctx: LoadContext) -> Any:
        return load_object(
            ctx.model_dir / conf["python_model"], "cloudpickle", allow_pickle=ctx.allow_pickle
        )

    def predictor(self, native: Any, conf: dict[str, Any], model_dir: Path) -> Any:
        artifacts = {
            name: str((model_dir / entry["path"]).resolve())
            for name, entry in (conf.get("artifacts") or {}).items()
        }
        context = PythonModelContext(artifacts=artifacts, model_config=conf.get("model_config"))
        native = as_python_model(native)
        native.load_context(context)
        native._modelpack_context = context
        return _PythonModelPredictor(native)

    def requirements(self, conf: dict[str, Any]) -> list[str]:
        return ["cloudpickle"]

    def uses_pickle(self, conf: dict[str, Any]) -> bool:
        return True

    def data_path(self, conf: dict[str, Any]) -> str | None:
        return str(conf["python_model"])

    def files(self, conf: dict[str, Any]) -> list[str]:
        out = super().files(conf)
        artifacts = conf.get("artifacts") or {}
        if isinstance(artifacts, dict):
            out += [
                entry["path"]
                for entry in artifacts.values()
                if isinstance(entry, dict) and "path" in entry
            ]
        return out
