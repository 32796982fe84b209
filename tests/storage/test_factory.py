"""storage_for's scheme table, missing libraries named by the error, and the remote model URIs
that parse_uri recognizes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from modelpack._storage import FsspecStorage, LocalStorage, S3Storage, storage_for
from modelpack._uri import parse_uri
from modelpack.exceptions import MissingDependencyError, ModelNotFoundError, StoreError


def _hide(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make ``module`` (and anything under it) look uninstalled."""
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("uri", "cls"),
    [
        ("relative/folder", LocalStorage),
        ("/abs/folder", LocalStorage),
        ("file:///abs/folder", LocalStorage),
        ("s3://bucket/prefix", S3Storage),
        ("S3://bucket", S3Storage),
        ("memory://somewhere/prefix", FsspecStorage),
    ],
    ids=["relative", "absolute", "file-uri", "s3", "s3-upper-case", "fsspec-memory"],
)
def test_backend_by_scheme(uri: str, cls: type, s3_env: Any) -> None:
    storage = storage_for(uri)
    assert type(storage) is cls
    if cls is S3Storage:
        assert storage.bucket in ("bucket",)  # type: ignore[attr-defined]


def test_local_roots(tmp_path: Path) -> None:
    assert storage_for(tmp_path.as_uri()).root == tmp_path  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="must be local"):
        storage_for("file://otherhost/x")


@pytest.mark.parametrize(
    ("uri", "package"),
    [
        ("gs://bucket/m", "gcsfs"),
        ("gcs://bucket/m", "gcsfs"),
        ("abfs://c/m", "adlfs"),
        ("az://c/m", "adlfs"),
    ],
    ids=["gs", "gcs", "abfs", "az"],
)
def test_a_missing_scheme_package_is_named(
    uri: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide(monkeypatch, package)
    with pytest.raises(MissingDependencyError, match=f"needs {package}.*pip install {package}"):
        storage_for(uri)


def test_missing_fsspec_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "fsspec")
    with pytest.raises(StoreError, match="no artifact storage for memory://"):
        storage_for("memory://x/y")  # without fsspec, nothing knows the scheme


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "boto3")
    with pytest.raises(MissingDependencyError, match=r'pip install "modelpack\[s3\]"') as e:
        storage_for("s3://bucket/x")
    assert e.value.extra == "s3"


def test_unknown_scheme() -> None:
    with pytest.raises(StoreError, match=r"no artifact storage for nosuch:// URIs"):
        storage_for("nosuch://x/y")


def test_bad_s3_uri() -> None:
    with pytest.raises(StoreError, match="expected s3://<bucket>/<prefix>"):
        storage_for("s3:///no-bucket")


@pytest.mark.parametrize(
    "uri",
    ["s3://bucket/path/to/model", "gs://bucket/model", "abfs://container/model", "memory://m/x"],
    ids=["s3", "gs", "abfs", "fsspec-memory"],
)
def test_remote_model_uris_parse(uri: str) -> None:
    parsed = parse_uri(uri)
    assert parsed.kind == "remote" and parsed.path == uri


def test_unknown_model_uri_scheme_lists_the_forms() -> None:
    with pytest.raises(ModelNotFoundError, match="unknown scheme 'nosuch'.*s3://"):
        parse_uri("nosuch://x/model")
    assert parse_uri("C:/models/m").kind == "path"  # a drive letter is no scheme


def test_register_backend() -> None:
    from modelpack._storage import _factory, register_backend

    target = "modelpack._storage._local:LocalStorage"
    try:
        register_backend("teamfs", target)
        register_backend("TEAMFS", target)  # the same again: fine
        assert isinstance(storage_for("teamfs://x"), LocalStorage)
        assert parse_uri("teamfs://x/model").kind == "remote"
        with pytest.raises(StoreError, match="already served by"):
            register_backend("teamfs", "modelpack._storage._s3:S3Storage")
    finally:
        _factory._BACKENDS.pop("teamfs", None)


@pytest.mark.parametrize(
    "root,location,want",
    [
        pytest.param("/store/artifacts", "1/abc/artifacts/model", "/store/artifacts/1/abc/artifacts/model", id="relative"),
        pytest.param("/store/artifacts", "/elsewhere/model", "/elsewhere/model", id="absolute"),
        pytest.param("/store/artifacts", "s3://bucket/team/1/m", "s3://bucket/team/1/m", id="s3-kept"),
        pytest.param("/store/artifacts", "mlflow-artifacts:/1/r/artifacts/m", "mlflow-artifacts:/1/r/artifacts/m", id="proxy-kept"),
        pytest.param("s3://bucket/team", "1/r/artifacts/m", "s3://bucket/team/1/r/artifacts/m", id="under-s3-root"),
        pytest.param("s3://bucket/team/", "", "s3://bucket/team/", id="the-root"),
    ],
)  # fmt: skip
def test_resolve_location_never_joins_a_uri_onto_a_folder(
    root: str, location: str, want: str
) -> None:
    from modelpack._storage import resolve_location

    assert resolve_location(root, location) == want
