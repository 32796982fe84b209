"""A custom PythonModel that reads an artifact (a surcharge table) shipped inside the model.

python examples/custom_model.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

import modelpack


class FareEstimator(modelpack.PythonModel):
    """Base fare plus a per-mile rate plus a zone surcharge read from a JSON artifact."""

    def load_context(self, context: modelpack.pyfunc.PythonModelContext) -> None:
        self.surcharge = json.loads(Path(context.artifacts["surcharges"]).read_text())

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        rate = (params or {}).get("rate_per_mile", 2.5)
        extra = model_input["PU_DO"].map(self.surcharge).fillna(0.0)
        return (3.0 + rate * model_input["trip_distance"] + extra).round(2).tolist()


def main() -> None:
    table = Path("surcharges.json")
    table.write_text(json.dumps({"43_151": 1.25, "132_265": 5.0}))
    example = pd.DataFrame({"PU_DO": ["43_151"], "trip_distance": [2.0]})
    signature = modelpack.infer_signature(example, params={"rate_per_mile": 2.5})
    modelpack.pyfunc.save_model(
        FareEstimator(),
        "models/fare",
        artifacts={"surcharges": str(table)},
        signature=signature,
        input_example=example,
        overwrite=True,
    )
    table.unlink()  # the model keeps its own copy

    model = modelpack.load_model("models/fare")
    trips = [{"PU_DO": "43_151", "trip_distance": 2.0}, {"PU_DO": "132_265", "trip_distance": 10}]
    print("fares:", model.predict(trips))
    print("fares at 3.0/mile:", model.predict(trips, params={"rate_per_mile": 3.0}))
    assert model.predict(trips) == [9.25, 33.0]


if __name__ == "__main__":
    main()
