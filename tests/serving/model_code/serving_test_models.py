"""Custom models for the serving tests; bundled into the saved model with ``code_paths``."""

from __future__ import annotations

from typing import Any

from modelpack.pyfunc import PythonModel


class Doubler(PythonModel):
    """Doubles column ``x``; raises on the value -1, like a model with a bug."""

    row_wise = True

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        x = model_input["x"].to_numpy()
        if (x == -1).any():
            raise ValueError("cannot double -1 (a deliberate failure)\nsecond line of detail")
        return x * 2


class Scaler(PythonModel):
    """Multiplies column ``x`` by the inference parameter ``factor``."""

    row_wise = True

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input["x"].to_numpy() * (params or {}).get("factor", 1.0)
