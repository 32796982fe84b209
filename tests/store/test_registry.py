"""The registry: versions, aliases, stages, descriptions, tags, deletion, registering paths."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack._store import get_store
from modelpack._uri import resolve_uri
from modelpack.exceptions import ModelNotFoundError, StoreError

pytestmark = pytest.mark.filterwarnings("error")


def _log(model: Any, registered: str | None = "m") -> str:
    with modelpack.start_run():
        info = modelpack.log_model(model, "model", registered_model_name=registered)
    return info.model_uri


@pytest.fixture
def three_versions(tiny: Any) -> list[str]:
    """Versions 1, 2, 3 of 'm', each logged in its own run."""
    return [_log(tiny[0]) for _ in range(3)]


def test_versions_count_up_from_one(three_versions: list[str]) -> None:
    versions = modelpack.search_model_versions("m")
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.source for v in versions] == three_versions
    assert all(v.current_stage == "None" and v.status == "READY" for v in versions)
    assert versions[0].run_id == three_versions[0].split("/")[1]


def test_register_model_from_a_run_uri(tiny: Any) -> None:
    uri = _log(tiny[0], registered=None)
    version = modelpack.register_model(uri, "fresh", tags={"k": "v"}, description="first")
    assert (version.name, version.version, version.tags, version.description) == (
        "fresh", 1, {"k": "v"}, "first",
    )  # fmt: skip
    assert Path(version.storage_location) == resolve_uri(uri)


def test_aliases_move_between_versions(three_versions: list[str]) -> None:
    modelpack.set_alias("m", "champion", 1)
    assert modelpack.get_model_version_by_alias("m", "champion").version == 1
    modelpack.set_alias("m", "champion", 3)  # moves: an alias names one version
    assert modelpack.get_model_version_by_alias("m", "champion").version == 3
    assert modelpack.get_model_version("m", 1).aliases == ()
    modelpack.set_alias("m", "challenger", 3)
    assert modelpack.get_model_version("m", 3).aliases == ("challenger", "champion")
    assert modelpack.get_registered_model("m").aliases == {"challenger": 3, "champion": 3}
    assert (
        modelpack.load_model("models:/m@champion").model_dir
        == modelpack.load_model("models:/m/3").model_dir
    )
    modelpack.delete_alias("m", "champion")
    with pytest.raises(ModelNotFoundError, match="aliases: challenger -> 3"):
        modelpack.load_model("models:/m@champion")


@pytest.mark.parametrize("alias", ["", "1", "latest", "a/b", "a@b", "two words"])
def test_invalid_aliases(three_versions: list[str], alias: str) -> None:
    with pytest.raises(StoreError, match="alias"):
        modelpack.set_alias("m", alias, 1)


def test_stage_transitions_without_archiving(three_versions: list[str]) -> None:
    v = modelpack.transition_model_version_stage("m", 1, "production")
    assert v.current_stage == "Production"
    modelpack.transition_model_version_stage("m", "2", "PRODUCTION")
    stages = {v.version: v.current_stage for v in modelpack.search_model_versions("m")}
    assert stages == {1: "Production", 2: "Production", 3: "None"}
    # the newest version in the stage wins
    assert (
        modelpack.load_model("models:/m/Production").model_dir.parent.name
        == (three_versions[1].split("/")[1])
    )
    modelpack.transition_model_version_stage("m", 3, "Staging")
    latest = {v.current_stage: v.version for v in modelpack.get_latest_versions("m")}
    assert latest == {"Production": 2, "Staging": 3}
    assert [v.version for v in modelpack.get_latest_versions("m", ["staging"])] == [3]


def test_stage_transition_archiving_the_existing_versions(three_versions: list[str]) -> None:
    modelpack.transition_model_version_stage("m", 1, "Production")
    modelpack.transition_model_version_stage("m", 2, "Staging")
    modelpack.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in modelpack.search_model_versions("m")}
    assert stages == {1: "Archived", 2: "Staging", 3: "Production"}  # Staging untouched
    modelpack.transition_model_version_stage("m", 3, "None")
    with pytest.raises(ModelNotFoundError, match="no version in stage Production"):
        modelpack.load_model("models:/m/Production")
    with pytest.raises(StoreError, match="Staging and Production"):
        modelpack.transition_model_version_stage("m", 1, "Archived", archive_existing_versions=True)
    with pytest.raises(StoreError, match="unknown stage 'Prod'"):
        modelpack.transition_model_version_stage("m", 1, "Prod")


def test_descriptions_and_tags(three_versions: list[str]) -> None:
    modelpack.update_registered_model("m", description="taxi trip duration")
    modelpack.set_registered_model_tag("m", "owner", "ana")
    modelpack.set_registered_model_tag("m", "task", "regression")
    modelpack.delete_registered_model_tag("m", "task")
    model = modelpack.get_registered_model("m")
    assert model.description == "taxi trip duration" and model.tags == {"owner": "ana"}

    v = modelpack.update_model_version("m", 2, description="tuned alpha")
    assert v.description == "tuned alpha"
    modelpack.set_model_version_tag("m", 2, "validated", True)
    modelpack.set_model_version_tag("m", 2, "gone", "x")
    modelpack.delete_model_version_tag("m", 2, "gone")
    assert modelpack.get_model_version("m", 2).tags == {"validated": "True"}
    with pytest.raises(ModelNotFoundError, match="no tag 'gone'; tags: validated"):
        modelpack.delete_model_version_tag("m", 2, "gone")
    with pytest.raises(ModelNotFoundError, match="no tag 'task'; tags: owner"):
        modelpack.delete_registered_model_tag("m", "task")
    created = modelpack.create_registered_model("empty", description="d", tags={"a": 1})
    assert (created.description, created.tags, created.latest_versions) == ("d", {"a": "1"}, ())
    with pytest.raises(StoreError, match="already exists"):
        modelpack.create_registered_model("empty")


def test_deleting_versions_never_reuses_numbers(three_versions: list[str], tiny: Any) -> None:
    modelpack.set_alias("m", "champion", 3)
    modelpack.delete_model_version("m", 3)
    assert [v.version for v in modelpack.search_model_versions("m")] == [1, 2]
    assert modelpack.get_registered_model("m").aliases == {}  # the alias went with it
    with pytest.raises(ModelNotFoundError, match=r"no version 3; versions: 1 \(no stage\), 2"):
        modelpack.get_model_version("m", 3)
    assert _log(tiny[0]) and modelpack.search_model_versions("m")[-1].version == 4
    # the files stay with their run
    assert modelpack.load_model(three_versions[2]) is not None


def test_delete_registered_model(three_versions: list[str]) -> None:
    modelpack.delete_registered_model("m")
    assert modelpack.search_registered_models() == []
    with pytest.raises(ModelNotFoundError, match="registered models: \\(none\\)"):
        modelpack.load_model("models:/m/1")
    assert modelpack.load_model(three_versions[0]) is not None


def test_register_a_path_copies_it_into_the_store(tmp_path: Path, tiny: Any) -> None:
    lr, X = tiny
    outside = tmp_path / "outside-model"
    modelpack.save_model(lr, outside)
    version = modelpack.register_model(str(outside), "copied")
    stored = Path(version.storage_location)
    assert stored != outside and stored.is_relative_to(get_store().artifact_root)
    shutil.rmtree(outside)  # the registered version does not depend on the original
    np.testing.assert_allclose(modelpack.load_model("models:/copied/1").predict(X), lr.predict(X))
    again = modelpack.register_model(f"file://{stored}", "copied")  # inside: referenced
    assert again.version == 2 and Path(again.storage_location) == stored


def test_register_a_registered_version_under_another_name(three_versions: list[str]) -> None:
    modelpack.set_alias("m", "champion", 2)
    v = modelpack.register_model("models:/m@champion", "prod-model")
    assert v.version == 1 and v.run_id == modelpack.get_model_version("m", 2).run_id
    assert v.storage_location == modelpack.get_model_version("m", 2).storage_location


def test_register_something_that_is_not_a_model(tmp_path: Path, tiny: Any) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="not a model directory"):
        modelpack.register_model(tmp_path / "empty", "x")
    assert modelpack.search_registered_models() == []


@pytest.mark.parametrize("name", ["", " padded", "a/b", "a@b"])
def test_invalid_model_names(tiny: Any, name: str) -> None:
    uri = _log(tiny[0], registered=None)
    with pytest.raises(StoreError, match="name"):
        modelpack.register_model(uri, name)


def test_search_registered_models(tiny: Any) -> None:
    for name in ("taxi-lr", "taxi-xgb", "churn"):
        _log(tiny[0], registered=name)
    assert [m.name for m in modelpack.search_registered_models()] == [
        "churn",
        "taxi-lr",
        "taxi-xgb",
    ]
    assert [m.name for m in modelpack.search_registered_models("taxi%")] == ["taxi-lr", "taxi-xgb"]
    row = modelpack.get_registered_model("churn").to_row()
    assert row["latest_version"] == 1 and row["stages"] == {"None": 1}
