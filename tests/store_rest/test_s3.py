"""A modelpack server keeping artifacts on S3 (moto's server), modelpack as the client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _services import free_port

import modelpack
from modelpack._store import close_stores, get_store
from modelpack.exceptions import ModelNotFoundError, StoreError
from tests.store_rest.conftest import Server, start_modelpack_server, stop_server


def _keys(s3: Any, bucket: str) -> list[str]:
    import boto3

    client = boto3.client("s3", **{"endpoint_url": s3.endpoint_url}, **_credentials())
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }


def _drop_bucket(s3: Any, bucket: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=s3.endpoint_url, **_credentials())
    for key in _keys(s3, bucket):
        client.delete_object(Bucket=bucket, Key=key)
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def s3_server(s3: Any, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A modelpack server whose artifacts go to s3://<new bucket>/team; the client process
    itself has no AWS settings (everything goes through the server's proxy)."""
    bucket = s3.create_bucket()
    server = start_modelpack_server(
        tmp_path / "server", artifacts=f"s3://{bucket}/team", env=s3.env()
    )
    modelpack.set_store_uri(server.url)
    yield server, bucket
    modelpack.set_store_uri(None)
    close_stores()
    stop_server(server)


def _fit() -> tuple[Any, np.ndarray]:
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    return LinearRegression().fit(X, X @ [2.0, -1.0]), X


def test_log_register_and_load_with_the_bytes_on_s3(s3_server: tuple[Server, str], s3: Any) -> None:
    server, bucket = s3_server
    model, X = _fit()
    modelpack.set_experiment("on-s3")
    with modelpack.start_run() as run:
        modelpack.log_param("alpha", "1")
        info = modelpack.log_model(model, "model", registered_model_name="s3-model")
    modelpack.set_alias("s3-model", "champion", 1)
    want = model.predict(X)
    for uri in (info.model_uri, "models:/s3-model/1", "models:/s3-model@champion"):
        np.testing.assert_allclose(modelpack.load_model(uri).predict(X), want)
    keys = _keys(s3, bucket)
    exp_id = run.info.experiment_id
    assert f"team/{exp_id}/{run.info.run_id}/artifacts/model/MLmodel" in keys
    assert all(k.startswith("team/") for k in keys)
    assert not any((server.root / "artifacts").glob("**/MLmodel"))  # nothing on the disk
    assert "Traceback" not in server.log()


def test_bucket_gone_is_one_error_naming_endpoint_and_bucket_and_nothing_registered(
    s3_server: tuple[Server, str], s3: Any
) -> None:
    _, bucket = s3_server
    model, _ = _fit()
    _drop_bucket(s3, bucket)
    modelpack.set_experiment("bucket-gone")
    with modelpack.start_run() as run, pytest.raises(StoreError) as caught:
        modelpack.log_model(model, "model", registered_model_name="never")
    message = str(caught.value)
    assert bucket in message and s3.endpoint_url in message, message
    with pytest.raises(ModelNotFoundError):
        get_store().get_registered_model("never")
    assert get_store().list_logged_models(run.info.run_id) == []


def test_missing_bucket_stops_the_server_start(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as caught:
        start_modelpack_server(tmp_path, artifacts="s3://no-such-bucket/x", env=s3.env())
    assert "no-such-bucket" in str(caught.value) and s3.endpoint_url in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_unreachable_s3_stops_the_server_start(s3: Any, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {**s3.env(), "AWS_ENDPOINT_URL": endpoint}
    with pytest.raises(RuntimeError) as caught:
        start_modelpack_server(tmp_path, artifacts="s3://some-bucket/x", env=env)
    assert "some-bucket" in str(caught.value) and endpoint in str(caught.value)


def test_the_servers_sqlite_store_opened_directly_loads_from_s3(
    s3_server: tuple[Server, str], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = s3_server
    model, X = _fit()
    modelpack.set_experiment("direct")
    with modelpack.start_run():
        modelpack.log_model(model, "model", registered_model_name="direct-model")
    modelpack.set_store_uri(str(server.root / "store"))  # the server's own SQLite store
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    version = get_store().get_model_version("direct-model", 1)
    assert version.storage_location.startswith("s3://"), version.storage_location
    np.testing.assert_allclose(
        modelpack.load_model("models:/direct-model/1").predict(X), model.predict(X)
    )
