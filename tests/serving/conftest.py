"""Fixtures for the serving tests: models saved once per session, and a running taxi server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._helpers import Server, start_server

HERE = Path(__file__).parent


# ------------------------------------------------------------------------------ models
@pytest.fixture(scope="session")
def taxi_dir(tmp_path_factory: pytest.TempPathFactory, taxi: Any, taxi_dv_lr: Any) -> Path:
    """The taxi model (DictVectorizer preprocessor + LinearRegression), saved once."""
    import modelpack

    frame, _, _ = taxi
    dv, lr = taxi_dv_lr
    path = tmp_path_factory.mktemp("serving") / "taxi-model"
    modelpack.save_model(lr, path, preprocessor=dv, input_example=frame.head(3))
    return path


@pytest.fixture(scope="session")
def taxi_model(taxi_dir: Path) -> Any:
    import modelpack

    return modelpack.load_model(taxi_dir)


@pytest.fixture(scope="session")
def taxi_server(tmp_path_factory: pytest.TempPathFactory, taxi_dir: Path) -> Iterator[Server]:
    """The taxi model served with batching on, a 50 ms batch window and a 0.25 MiB body limit."""
    log = tmp_path_factory.mktemp("serving-log") / "taxi-server.log"
    server = start_server(
        taxi_dir, log, "--batch-max-latency-ms", "50", "--max-body-mb", "0.25", "--name", "taxi"
    )
    yield server
    server.stop()


CODE = HERE / "model_code" / "serving_test_models.py"


@pytest.fixture(scope="session")
def test_models() -> Any:
    """The module of custom test models, imported as the saved models will import it."""
    sys.path.insert(0, str(CODE.parent))
    try:
        import serving_test_models  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(CODE.parent))
    return serving_test_models


@pytest.fixture(scope="session")
def custom_model_dir(tmp_path_factory: pytest.TempPathFactory, test_models: Any) -> Path:
    """A row-wise custom model that raises on the value -1 (its code is bundled)."""
    import modelpack

    path = tmp_path_factory.mktemp("serving") / "custom-model"
    modelpack.save_model(
        test_models.Doubler(), path, input_example={"x": [1.0, 2.0]}, code_paths=[str(CODE)]
    )
    return path


@pytest.fixture(scope="session")
def scaler_model_dir(tmp_path_factory: pytest.TempPathFactory, test_models: Any) -> Path:
    """A row-wise custom model with an inference parameter ``factor`` (default 1.0)."""
    import modelpack

    path = tmp_path_factory.mktemp("serving") / "scaler-model"
    signature = modelpack.infer_signature({"x": [1.0]}, [1.0], params={"factor": 1.0})
    modelpack.save_model(test_models.Scaler(), path, signature=signature, code_paths=[str(CODE)])
    return path
