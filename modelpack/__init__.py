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
    from modelpack import exceptions, pyfunc, sklearn, xgboost
    from modelpack._api import load_model, save_model
    from modelpack._save import ModelInfo
    from modelpack._signature import (
        ColSpec,
        ParamSpec,
        Schema,
        Signature,
        TensorSpec,
        infer_signature,
    )
    from modelpack.flavors import Flavor, register_flavor
    from modelpack.pyfunc import PyFuncModel, PythonModel

# public name -> "module:attribute" (or "module" for a submodule)
_LAZY: dict[str, str] = {
    "save_model": "modelpack._api:save_model",
    "load_model": "modelpack._api:load_model",
    "ModelInfo": "modelpack._save:ModelInfo",
    "PyFuncModel": "modelpack.pyfunc:PyFuncModel",
    "PythonModel": "modelpack.pyfunc:PythonModel",
    "Signature": "modelpack._signature:Signature",
    "Schema": "modelpack._signature:Schema",
    "ColSpec": "modelpack._signature:ColSpec",
    "TensorSpec": "modelpack._signature:TensorSpec",
    "ParamSpec": "modelpack._signature:ParamSpec",
    "infer_signature": "modelpack._signature:infer_signature",
    "Flavor": "modelpack.flavors:Flavor",
    "register_flavor": "modelpack.flavors:register_flavor",
    "exceptions": "modelpack.exceptions",
    "pyfunc": "modelpack.pyfunc",
    "sklearn": "modelpack.sklearn",
    "xgboost": "modelpack.xgboost",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'modelpack' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
