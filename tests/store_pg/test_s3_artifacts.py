"""A PostgreSQL store with its artifacts in S3 (moto's server over HTTP): runs' files and
models go to the bucket through modelpack._storage and load back through the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

import modelpack
from modelpack._store import get_store

# pickled custom models warn on load by design; every other warning fails the test
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:loading .* with cloudpickle"),
]


class Linear(modelpack.PythonModel):
    input_kind = "any"

    def predict(self, model_input: Any, params: Any = None) -> Any:
        return np.asarray(model_input, dtype=float) @ np.array([3.0, 1.0])


def _keys(s3: Any, bucket: str) -> set[str]:
    client = boto3.client("s3", endpoint_url=s3.endpoint_url)
    found = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"] for item in found}


def test_runs_and_models_in_s3(s3_env: Any, pg_url: str, tmp_path: Path) -> None:
    bucket = s3_env.create_bucket()
    modelpack.set_store_uri(f"{pg_url}?artifact_root=s3://{bucket}/team")
    store = get_store()
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with modelpack.start_run() as run:
        modelpack.log_artifact(str(notes), "docs")
        info = modelpack.pyfunc.log_model(Linear(), "model", registered_model_name="m")
    run_id = run.info.run_id
    assert modelpack.get_run(run_id).info.artifact_uri == f"s3://{bucket}/team/0/{run_id}"
    keys = _keys(s3_env, bucket)
    assert f"team/0/{run_id}/docs/notes.txt" in keys
    assert f"team/0/{run_id}/model/MLmodel" in keys
    assert not any(store.artifact_root.rglob("MLmodel"))  # nothing left in staging

    assert {i.path for i in store.list_artifacts(run_id)} == {"docs", "model"}
    got = store.download_artifacts(run_id, "docs/notes.txt", tmp_path / "out")
    assert got.read_text() == "hello"

    version = store.get_model_version("m", 1)
    assert version.storage_location == f"s3://{bucket}/team/0/{run_id}/model"
    X = np.array([[1.0, 2.0], [2.0, 1.0]])
    for uri in ("models:/m/1", info.model_uri):
        np.testing.assert_allclose(modelpack.load_model(uri).predict(X), [5.0, 7.0])

    # a model directory from outside the store is uploaded when registered
    outside = tmp_path / "outside"
    modelpack.save_model(Linear(), outside)
    modelpack.register_model(str(outside), "m")
    second = store.get_model_version("m", 2)
    assert second.storage_location.startswith(f"s3://{bucket}/team/registered/")
    np.testing.assert_allclose(modelpack.load_model("models:/m/2").predict(X), [5.0, 7.0])
