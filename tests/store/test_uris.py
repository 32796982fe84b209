"""Every model URI form resolves and loads; every not-found case says what exists."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._uri import resolve_uri
from modelpack.exceptions import ModelNotFoundError

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def registered(tiny: Any) -> dict[str, Any]:
    """Two versions of 'taxi': v1 in Production with alias 'champion', v2 the latest."""
    lr, X = tiny
    infos = []
    for _ in range(2):
        with modelpack.start_run():
            infos.append(modelpack.log_model(lr, "model", registered_model_name="taxi"))
    modelpack.set_alias("taxi", "champion", 1)
    modelpack.transition_model_version_stage("taxi", 1, "Production")
    return {"infos": infos, "X": X, "expected": lr.predict(X)}


@pytest.mark.parametrize(
    ("uri", "version"),
    [
        ("{dir1}", 1),
        ("file://{dir1}", 1),
        ("runs:/{run1}/model", 1),
        ("runs:/{run2}/model", 2),
        ("models:/taxi/1", 1),
        ("models:/taxi/2", 2),
        ("models:/taxi@champion", 1),
        ("models:/taxi/latest", 2),
        ("models:/taxi/Production", 1),
        ("models:/taxi/production", 1),
        ("models:/taxi/None", 2),
    ],
    ids=["path", "file", "runs-1", "runs-2", "version-1", "version-2", "alias", "latest",
         "stage", "stage-any-case", "stage-none"],
)  # fmt: skip
def test_every_uri_form_loads(registered: dict[str, Any], uri: str, version: int) -> None:
    infos = registered["infos"]
    text = uri.format(dir1=infos[0].model_dir, run1=infos[0].run_id, run2=infos[1].run_id)
    assert resolve_uri(text) == Path(infos[version - 1].model_dir)
    model = modelpack.load_model(text)
    np.testing.assert_allclose(model.predict(registered["X"]), registered["expected"])


def test_relative_paths_resolve(
    registered: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = Path(registered["infos"][0].model_dir)
    monkeypatch.chdir(model_dir.parent)
    assert resolve_uri("model") == model_dir


def test_native_loaders_accept_registry_uris(registered: dict[str, Any]) -> None:
    estimator = modelpack.sklearn.load_model("models:/taxi@champion")
    np.testing.assert_allclose(estimator.predict(registered["X"]), registered["expected"])


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("runs:/{missing_run}/model", "no run with id '{missing_run}'.*most recent: {run2}"),
        ("runs:/{run1}/nope", "run {run1} has no model at 'nope'; models logged in this run: model"),
        ("runs:/{run1}/../{run2}/model", "has no model at"),
        ("models:/taxo/1", "no registered model named 'taxo'.*registered models: taxi. Did you mean 'taxi'"),
        ("models:/taxi/7", r"has no version 7; versions: 1 \(Production\), 2 \(no stage\)"),
        ("models:/taxi@challenger", "has no alias 'challenger'; aliases: champion -> 1"),
        ("models:/taxi/Staging", r"no version in stage Staging; versions: 1 \(Production\)"),
        ("models:/taxi/archived", "no version in stage Archived"),
        ("models:/taxi/v2", "not a version number, 'latest', an alias"),
        ("{tmp}/no-such-dir", "the path does not exist"),
    ],
    ids=["unknown-run", "unknown-path-in-run", "escaping-path", "unknown-name",
         "unknown-version", "unknown-alias", "empty-stage", "empty-stage-lowercase",
         "bad-reference", "missing-path"],
)  # fmt: skip
def test_not_found_says_what_exists(
    registered: dict[str, Any], tmp_path: Path, uri: str, message: str
) -> None:
    infos = registered["infos"]
    values = {"run1": infos[0].run_id, "run2": infos[1].run_id, "missing_run": "f" * 32,
              "tmp": tmp_path}  # fmt: skip
    with pytest.raises(ModelNotFoundError, match=message.format(**values)) as err:
        modelpack.load_model(uri.format(**values))
    assert err.value.uri is not None


def test_latest_of_a_model_without_versions() -> None:
    modelpack.create_registered_model("empty")
    with pytest.raises(ModelNotFoundError, match="has no version; versions: none"):
        modelpack.load_model("models:/empty/latest")


def test_a_version_whose_files_were_removed(registered: dict[str, Any]) -> None:
    shutil.rmtree(registered["infos"][1].model_dir)
    with pytest.raises(ModelNotFoundError, match="holds no model any more"):
        modelpack.load_model("models:/taxi/2")
    with pytest.raises(ModelNotFoundError, match="models logged in this run: model"):
        modelpack.load_model(registered["infos"][1].model_uri)


@pytest.mark.parametrize(
    "call",
    [
        lambda: modelpack.get_model_version("nope", 1),
        lambda: modelpack.get_model_version_by_alias("nope", "a"),
        lambda: modelpack.update_registered_model("nope", "described"),
        lambda: modelpack.get_registered_model("nope"),
        lambda: modelpack.get_latest_versions("nope"),
        lambda: modelpack.set_alias("nope", "a", 1),
        lambda: modelpack.delete_alias("nope", "a"),
        lambda: modelpack.update_model_version("nope", 1, description="x"),
        lambda: modelpack.delete_model_version("nope", 1),
        lambda: modelpack.delete_registered_model("nope"),
        lambda: modelpack.set_model_version_tag("nope", 1, "k", "v"),
        lambda: modelpack.set_registered_model_tag("nope", "k", "v"),
        lambda: modelpack.transition_model_version_stage("nope", 1, "Staging"),
    ],
    ids=["get_model_version", "by_alias", "update_model", "get_registered", "latest_versions",
         "set_alias", "delete_alias", "update_version", "delete_version", "delete_model",
         "version_tag", "model_tag", "transition"],
)  # fmt: skip
def test_unknown_model_name_everywhere(registered: dict[str, Any], call: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="registered models: taxi"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: modelpack.set_alias("taxi", "a", 9),
        lambda: modelpack.update_model_version("taxi", 9, description="x"),
        lambda: modelpack.delete_model_version("taxi", 9),
        lambda: modelpack.set_model_version_tag("taxi", 9, "k", "v"),
        lambda: modelpack.transition_model_version_stage("taxi", 9, "Staging"),
    ],
    ids=["set_alias", "update", "delete", "tag", "transition"],
)
def test_unknown_version_everywhere(registered: dict[str, Any], call: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="has no version 9; versions: 1"):
        call()
