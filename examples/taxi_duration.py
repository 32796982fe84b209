"""The taxi-duration workflow: DictVectorizer + LinearRegression, saved as one model.

The preprocessor travels with the model, so whoever loads it predicts straight from raw trip
records: no pickled DictVectorizer lying in another folder.

    python examples/taxi_duration.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _data import trips
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression

import modelpack


def main() -> None:
    frame, y = trips()
    records = frame.to_dict(orient="records")
    dv = DictVectorizer().fit(records)
    lr = LinearRegression().fit(dv.transform(records), y)

    path = Path("models/taxi-duration")
    info = modelpack.save_model(
        lr, path, preprocessor=dv, input_example=frame.head(3), overwrite=True
    )
    print(f"saved {info.model_uri} with flavors {sorted(info.flavors)}")

    model = modelpack.load_model(path.absolute().as_uri())  # any URI form works
    new_trips = [{"PU_DO": "43_151", "trip_distance": 1.8}, {"PU_DO": "7_9", "trip_distance": 9.5}]
    predicted = model.predict(new_trips)
    print("predicted minutes:", np.round(predicted, 1).tolist())
    assert np.allclose(predicted, lr.predict(dv.transform(new_trips)))

    try:
        model.predict([{"PU_DO": "43_151", "trip_distance": "far"}])
    except modelpack.exceptions.SchemaError as e:
        print("bad input is explained:", e)

    native = modelpack.sklearn.load_model(path)
    print("native object:", type(native).__name__)


if __name__ == "__main__":
    main()
