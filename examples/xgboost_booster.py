"""An XGBoost Booster trained on a DMatrix of DictVectorizer output, predicting raw records.

The booster is stored in XGBoost's own format (never pickled) and the DictVectorizer with skops,
so the model loads even with pickle loading disabled.

    python examples/xgboost_booster.py
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from _data import trips
from sklearn.feature_extraction import DictVectorizer

import modelpack


def main() -> None:
    frame, y = trips()
    records = frame.to_dict(orient="records")
    dv = DictVectorizer().fit(records)
    booster = xgb.train(
        {"max_depth": 4, "eta": 0.2, "objective": "reg:squarederror"},
        xgb.DMatrix(dv.transform(records), label=y),
        num_boost_round=50,
    )
    modelpack.xgboost.save_model(
        booster, "models/taxi-xgb", preprocessor=dv, input_example=records[:3], overwrite=True
    )

    model = modelpack.load_model("models/taxi-xgb", allow_pickle=False)
    sample = records[:5]
    predicted = model.predict(sample)
    expected = booster.predict(xgb.DMatrix(dv.transform(sample)))
    assert np.allclose(predicted, expected)
    print("predicted minutes:", np.round(predicted, 1).tolist())
    print("native class:", type(modelpack.xgboost.load_model("models/taxi-xgb")).__name__)


if __name__ == "__main__":
    main()
