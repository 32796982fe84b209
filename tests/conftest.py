"""Shared fixtures: a small synthetic taxi-duration data set and models trained on it.

Everything is real (scikit-learn, XGBoost); nothing is mocked. Each test gets its own store
(MODELPACK_STORE_URI points into its tmp_path) so no test writes into the working directory,
and the session's per-user cache (MODELPACK_CACHE_DIR) is a temporary directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The installable conformance suite's asserts report their operands like the tests' own.
pytest.register_assert_rewrite("modelpack.testing")

ZONES = ["43_151", "1_2", "7_9", "161_236", "132_265"]


def make_taxi(n: int = 300, seed: int = 0) -> tuple[Any, list[dict[str, Any]], np.ndarray]:
    """A frame with a categorical PU_DO and a numeric trip_distance, its records and a target."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "PU_DO": rng.choice(ZONES, n),
            "trip_distance": rng.uniform(0.5, 12.0, n).round(2),
        }
    )
    zone_effect = frame["PU_DO"].map({z: i * 1.5 for i, z in enumerate(ZONES)}).to_numpy()
    y = 2.0 + 3.1 * frame["trip_distance"].to_numpy() + zone_effect + rng.normal(0, 0.5, n)
    return frame, frame.to_dict(orient="records"), y


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """modelpack's per-user cache goes to a directory of this test session, not ~/.cache."""
    import os

    before = os.environ.get("MODELPACK_CACHE_DIR")
    os.environ["MODELPACK_CACHE_DIR"] = str(tmp_path_factory.mktemp("modelpack-cache"))
    yield
    if before is None:
        os.environ.pop("MODELPACK_CACHE_DIR", None)
    else:
        os.environ["MODELPACK_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPACK_STORE_URI", str(tmp_path / "modelpack-store"))


@pytest.fixture(scope="session")
def taxi() -> tuple[Any, list[dict[str, Any]], np.ndarray]:
    return make_taxi()


@pytest.fixture(scope="session")
def taxi_dv_lr(taxi: Any) -> tuple[Any, Any]:
    """The classic course pair: a DictVectorizer and a LinearRegression fitted on its output."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression

    _, records, y = taxi
    dv = DictVectorizer().fit(records)
    lr = LinearRegression().fit(dv.transform(records), y)
    return dv, lr


@pytest.fixture(scope="session")
def taxi_booster(taxi: Any, taxi_dv_lr: Any) -> Any:
    """An XGBoost Booster trained on a DMatrix of DictVectorizer output."""
    import xgboost as xgb

    _, records, y = taxi
    dv, _ = taxi_dv_lr
    return xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(dv.transform(records), label=y), 20)


@pytest.fixture
def taxi_model_dir(tmp_path: Path, taxi: Any, taxi_dv_lr: Any) -> Path:
    """A saved sklearn model with its DictVectorizer and an input example."""
    import modelpack

    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    path = tmp_path / "taxi-model"
    modelpack.save_model(lr, path, preprocessor=dv, input_example=frame.head(3))
    return path


# --------------------------------------------------------------------------- real services
@pytest.fixture(scope="session")
def postgres() -> Any:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the whole session (see tests/_services)."""
    from _services import services_dir, start_postgres

    with services_dir() as root:
        pg = start_postgres(root)
        try:
            yield pg
        finally:
            pg.stop("immediate")


@pytest.fixture
def pg_url(postgres: Any) -> str:
    """A new empty database in the session's cluster."""
    return str(postgres.create_database())


@pytest.fixture(scope="session")
def s3() -> Any:
    """moto's S3 server on 127.0.0.1 for the whole session, reached over HTTP."""
    from _services import services_dir, start_s3

    with services_dir() as root:
        server = start_s3(root)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def s3_env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The S3 endpoint and test credentials in this process's environment."""
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return s3
