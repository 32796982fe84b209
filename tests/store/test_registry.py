"""The registry: versions, aliases, stages, descriptions, tags, deletion, registering paths."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack import _registry as registry
from modelpack._client._registry import RegistryClient
from modelpack._store import FilterError, RegistryValueError, get_store
from modelpack._store._schema import MIGRATIONS
from modelpack._uri import resolve_uri
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError

pytestmark = pytest.mark.filterwarnings("error")


def _log(model: Any, registered: str | None = "m") -> str:
    with modelpack.start_run():
        info = modelpack.log_model(model, "model", registered_model_name=registered)
    return info.model_uri


def _versions(name: str) -> list[Any]:
    """The versions of ``name``, oldest first."""
    return modelpack.search_model_versions(
        filter_string=f"name = '{name}'", order_by=["version_number ASC"]
    )


@pytest.fixture
def three_versions(tiny: Any) -> list[str]:
    """Versions 1, 2, 3 of 'm', each logged in its own run."""
    return [_log(tiny[0]) for _ in range(3)]


def test_versions_count_up_from_one(three_versions: list[str]) -> None:
    versions = _versions("m")
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
    assert modelpack.get_model_version("m", 1).aliases == []
    modelpack.set_alias("m", "challenger", 3)
    assert modelpack.get_model_version("m", 3).aliases == ["challenger", "champion"]
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
    stages = {v.version: v.current_stage for v in _versions("m")}
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
    stages = {v.version: v.current_stage for v in _versions("m")}
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
    assert (created.description, created.tags, created.latest_versions) == ("d", {"a": "1"}, [])
    with pytest.raises(ModelExistsError, match="already exists"):
        modelpack.create_registered_model("empty")


def test_deleting_versions_never_reuses_numbers(three_versions: list[str], tiny: Any) -> None:
    modelpack.set_alias("m", "champion", 3)
    modelpack.delete_model_version("m", 3)
    assert [v.version for v in _versions("m")] == [1, 2]
    assert modelpack.get_registered_model("m").aliases == {}  # the alias went with it
    with pytest.raises(ModelNotFoundError, match=r"no version 3; versions: 1 \(no stage\), 2"):
        modelpack.get_model_version("m", 3)
    assert _log(tiny[0]) and _versions("m")[-1].version == 4
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
    found = modelpack.search_registered_models(filter_string="name LIKE 'taxi%'")
    assert [m.name for m in found] == ["taxi-lr", "taxi-xgb"]
    row = modelpack.get_registered_model("churn").to_row()
    assert row["latest_version"] == 1 and row["stages"] == {"None": 1}


# ---------------------------------------------------------------------- MLflow's semantics
def test_register_model_takes_mlflows_positional_arguments(tiny: Any) -> None:
    uri = _log(tiny[0], registered=None)
    version = modelpack.register_model(uri, "fresh", 0, tags={"n": 1})
    assert (version.version, version.tags, version.status) == (1, {"n": "1"}, "READY")
    assert (version.run_link, version.status_message, version.user_id) == (None, None, None)


def test_search_model_versions_filters(tiny: Any) -> None:
    runs = [_log(tiny[0], registered="taxi-lr").split("/")[1] for _ in range(2)]
    _log(tiny[0], registered="taxi-xgb")
    modelpack.set_model_version_tag("taxi-lr", 2, "validated", "yes")

    def found(text: str) -> list[tuple[str, int]]:
        versions = modelpack.search_model_versions(
            filter_string=text, order_by=["name", "version_number"]
        )
        return [(v.name, v.version) for v in versions]

    assert found("name = 'taxi-lr'") == [("taxi-lr", 1), ("taxi-lr", 2)]
    assert found("name LIKE 'taxi-%' and version_number = 1") == [("taxi-lr", 1), ("taxi-xgb", 1)]
    assert found("name LIKE 'TAXI-%'") == []  # LIKE is case-sensitive, ILIKE is not
    assert len(found("name ILIKE 'TAXI-%'")) == 3
    assert found("name IN ('taxi-xgb', 'nope')") == [("taxi-xgb", 1)]
    assert found("name NOT IN ('taxi-lr')") == [("taxi-xgb", 1)]
    assert found(f"run_id = '{runs[1]}'") == [("taxi-lr", 2)]
    assert found(f"run_id IN ('{runs[0]}', '{runs[1]}')") == [("taxi-lr", 1), ("taxi-lr", 2)]
    assert found(f"source_path = 'runs:/{runs[0]}/model'") == [("taxi-lr", 1)]
    assert found("version_number >= 2") == [("taxi-lr", 2)]
    assert found("version_number = '2'") == [("taxi-lr", 2)]  # a quoted number, as MLflow
    assert found("tags.validated = 'yes'") == [("taxi-lr", 2)]
    assert found("tag.`validated` != 'no' and attribute.name = \"taxi-lr\"") == [("taxi-lr", 2)]
    assert found("name = 'nope'") == []  # an empty result, not an error (MLflow)
    assert len(found("")) == 3


def test_search_orders_and_pages(tiny: Any) -> None:
    for name in ("b", "a", "c"):
        _log(tiny[0], registered=name)
    _log(tiny[0], registered="a")
    # versions: most recently updated first by default, as MLflow
    newest = modelpack.search_model_versions()
    assert [(v.name, v.version) for v in newest] == [("a", 2), ("c", 1), ("a", 1), ("b", 1)]
    by_name = modelpack.search_model_versions(order_by=["name DESC"])
    assert [(v.name, v.version) for v in by_name] == [("c", 1), ("b", 1), ("a", 2), ("a", 1)]

    client = registry.Registry()
    pages, token = [], None
    while True:
        page = client.search_model_versions(max_results=3, page_token=token, order_by=["name"])
        pages.append([(v.name, v.version) for v in page])
        token = page.token
        if token is None:
            break
    assert pages == [[("a", 2), ("a", 1), ("b", 1)], [("c", 1)]]
    exact = client.search_registered_models(max_results=3)
    assert [m.name for m in exact] == ["a", "b", "c"] and exact.token is None
    first = client.search_registered_models(max_results=2, order_by=["name DESC"])
    rest = client.search_registered_models(
        max_results=2, order_by=["name DESC"], page_token=first.token
    )
    assert [m.name for m in [*first, *rest]] == ["c", "b", "a"] and rest.token is None
    assert [m.name for m in modelpack.search_registered_models(2)] == ["a", "b"]
    assert len(modelpack.search_model_versions(max_results=3)) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name == taxi", "expected a quoted string or a number, got 'taxi'"),
        ("stage = 'Production'", "unknown key 'stage'; model versions filter on name, run_id"),
        ("name = 'a' OR name = 'b'", "OR is not supported"),
        ("name = 'a' and", "ends early"),
        ("name = 'x'; DROP TABLE model_versions; --", "cannot parse the filter"),
        ("tags.k IN ('a', 'b')", "tags.k cannot be compared with IN; use =, !=, LIKE, ILIKE"),
        ("source_path IN ('a')", "source_path cannot be compared with IN"),
        ("version_number > 'two'", "version_number compares with a whole number, got 'two'"),
        ("name > 'a'", "name cannot be compared with >"),
        ("run_id = 7", "run_id compares with a quoted string"),
        ("name IN 'a'", "IN takes a parenthesized list"),
    ],
)
def test_bad_version_filters_say_what_is_wrong(three_versions: list[str], text: str, message: str):
    with pytest.raises(FilterError, match=re.escape(message)) as info:
        modelpack.search_model_versions(filter_string=text)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "sqlite" not in str(info.value).lower() and "syntax error" not in str(info.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: modelpack.search_registered_models(filter_string="run_id = 'x'"), "unknown key"),
        (lambda: modelpack.search_registered_models(order_by=["version_number"]), "cannot order"),
        (lambda: modelpack.search_model_versions(order_by=["name", "name DESC"]), "twice"),
        (lambda: modelpack.search_model_versions(order_by="name"), "a list of terms"),
        (lambda: modelpack.search_model_versions(order_by=["stage"]), "cannot order"),
    ],
    ids=["model-key", "model-order", "twice", "order-string", "version-order"],
)
def test_bad_orders_and_model_filters(call: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        call()


def test_bad_page_arguments() -> None:
    client = registry.Registry()
    with pytest.raises(RegistryValueError, match="invalid page_token"):
        client.search_model_versions(page_token="not-a-token")
    with pytest.raises(RegistryValueError, match="between 1 and 200000"):
        client.search_model_versions(max_results=0)
    with pytest.raises(RegistryValueError, match="between 0 and 1000"):
        client.search_registered_models(max_results=1001)
    with pytest.raises(RegistryValueError, match="the first parameter, as in MLflow"):
        modelpack.search_model_versions("m")  # type: ignore[arg-type]


def test_sql_text_in_names_and_values_is_stored_and_matched_literally(tiny: Any) -> None:
    name = "x'); DROP TABLE registered_models; --"
    uri = _log(tiny[0], registered=None)
    modelpack.register_model(uri, name, tags={"q": "it's 100%"})
    quoted = name.replace("'", "''")
    assert [m.name for m in modelpack.search_registered_models(filter_string=f"name = '{quoted}'")]
    assert modelpack.search_registered_models(filter_string="name LIKE 'x''); DROP%'")[0].name == (
        name
    )
    assert modelpack.search_model_versions(filter_string="tags.q = 'it''s 100%'")[0].name == name
    assert modelpack.search_model_versions(filter_string="tags.q LIKE '%''s 1%'")[0].name == name
    assert modelpack.search_model_versions(filter_string='tags.q = "it\'s 100%"')[0].name == name
    assert [m.name for m in modelpack.search_registered_models()] == [name]


def test_rename_moves_versions_aliases_and_tags(three_versions: list[str], tiny: Any) -> None:
    modelpack.set_alias("m", "champion", 2)
    modelpack.set_registered_model_tag("m", "team", "ml")
    modelpack.set_model_version_tag("m", 2, "ok", "yes")
    modelpack.transition_model_version_stage("m", 3, "Production")
    renamed = registry.rename_registered_model("m", "m2")
    assert (renamed.name, renamed.aliases, renamed.tags) == ("m2", {"champion": 2}, {"team": "ml"})
    assert modelpack.get_model_version_by_alias("m2", "champion").tags == {"ok": "yes"}
    assert [v.version for v in _versions("m2")] == [1, 2, 3] and _versions("m") == []
    lr, X = tiny
    np.testing.assert_allclose(
        modelpack.load_model("models:/m2@champion").predict(X), lr.predict(X)
    )
    assert modelpack.load_model("models:/m2/Production") is not None
    with pytest.raises(ModelNotFoundError, match="registered models: m2"):
        modelpack.load_model("models:/m/1")
    assert _log(lr, registered="m2") and _versions("m2")[-1].version == 4  # numbering goes on
    # the old name is free again
    assert modelpack.register_model(three_versions[0], "m").version == 1


def test_rename_refusals(three_versions: list[str]) -> None:
    modelpack.create_registered_model("other")
    with pytest.raises(ModelExistsError, match="'other' already exists") as info:
        registry.rename_registered_model("m", "other")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(ModelNotFoundError, match="registered models: m, other"):
        registry.rename_registered_model("nope", "x")
    with pytest.raises(RegistryValueError, match="reserved"):
        registry.rename_registered_model("m", "a/b")
    assert registry.rename_registered_model("m", "m").name == "m"  # a no-op, as in MLflow
    assert len(_versions("m")) == 3


def test_create_model_version_from_each_kind_of_source(tmp_path: Path, tiny: Any) -> None:
    lr, _ = tiny
    run_uri = _log(lr, registered=None)
    run_id = run_uri.split("/")[1]
    with pytest.raises(ModelNotFoundError, match="no registered model named 'm'"):
        registry.create_model_version("m", run_uri)  # unlike register_model
    modelpack.create_registered_model("m")
    v1 = registry.create_model_version("m", run_uri, tags={"k": 1}, description="d", run_link="l")
    assert (v1.version, v1.run_id, v1.tags, v1.description) == (1, run_id, {"k": "1"}, "d")
    v2 = registry.create_model_version("m", "models:/m/1", run_id="other-run")
    assert (v2.run_id, v2.storage_location) == ("other-run", v1.storage_location)
    outside = tmp_path / "outside"
    modelpack.save_model(lr, outside)
    v3 = modelpack.register_model(str(outside), "m")
    shutil.rmtree(outside)
    # a source an existing version recorded reuses that version's files
    v4 = registry.create_model_version("m", v3.source)
    assert (v4.version, v4.source, v4.storage_location) == (4, str(outside), v3.storage_location)
    with pytest.raises(ModelNotFoundError, match="the path does not exist"):
        registry.create_model_version("m", str(tmp_path / "never-registered"))


def test_copy_model_version(three_versions: list[str]) -> None:
    modelpack.set_alias("m", "champion", 2)
    modelpack.set_model_version_tag("m", 2, "ok", "yes")
    modelpack.update_model_version("m", 2, description="tuned")
    copied = registry.copy_model_version("models:/m@champion", "m-prod")
    source = modelpack.get_model_version("m", 2)
    assert (copied.name, copied.version, copied.source) == ("m-prod", 1, "models:/m/2")
    assert (copied.run_id, copied.tags, copied.storage_location) == (
        source.run_id, {"ok": "yes"}, source.storage_location,
    )  # fmt: skip
    assert (copied.description, copied.aliases, copied.current_stage) == ("tuned", [], "None")
    again = registry.copy_model_version("models:/m/1", "m-prod")
    assert again.version == 2
    # copying into the same model adds a version there, as MLflow does
    assert registry.copy_model_version("models:/m/1", "m").version == 4
    with pytest.raises(RegistryValueError, match="copies a registered version"):
        registry.copy_model_version(three_versions[0], "x")
    with pytest.raises(ModelNotFoundError, match="has no version 9"):
        registry.copy_model_version("models:/m/9", "x")
    with pytest.raises(ModelNotFoundError, match="no registered model named 'x'"):
        modelpack.get_registered_model("x")  # nothing created by the failed copy


def test_version_arguments_as_mlflow_takes_them(three_versions: list[str]) -> None:
    assert modelpack.get_model_version("m", "2").version == 2
    assert modelpack.get_model_version("m", 2.0).version == 2
    assert modelpack.get_model_version("m", " 3").version == 3
    with pytest.raises(RegistryValueError, match="a version is a whole number") as info:
        modelpack.get_model_version("m", "2.5")
    assert isinstance(info.value, ValueError)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(ModelNotFoundError, match="has no version 0"):
        modelpack.get_model_version("m", 0)
    assert registry.get_model_version_download_uri("m", "1") == (
        modelpack.get_model_version("m", 1).storage_location
    )


def test_alias_rules_follow_mlflow(three_versions: list[str]) -> None:
    registry.set_registered_model_alias("m", "Champion-2_b", "2")
    assert modelpack.get_registered_model("m").aliases == {"Champion-2_b": 2}
    for alias in ("v1", "V12", "a.b", "x" * 256):
        with pytest.raises(RegistryValueError, match="invalid alias"):
            registry.set_registered_model_alias("m", alias, 1)
    with pytest.raises(ModelNotFoundError, match=r"has no version 7; versions: 1 \(no stage\)"):
        registry.set_registered_model_alias("m", "champion", 7)
    assert modelpack.set_alias is registry.set_registered_model_alias
    assert modelpack.delete_alias is registry.delete_registered_model_alias
    registry.delete_registered_model_alias("m", "Champion-2_b")
    assert modelpack.get_registered_model("m").aliases == {}


def test_latest_versions_stage_tags_and_descriptions(three_versions: list[str]) -> None:
    modelpack.transition_model_version_stage("m", 1, "Archived")
    modelpack.transition_model_version_stage("m", 2, "Staging")
    latest = modelpack.get_latest_versions("m")
    assert [(v.version, v.current_stage) for v in latest] == [
        (1, "Archived"), (2, "Staging"), (3, "None"),
    ]  # fmt: skip
    assert [v.version for v in modelpack.get_latest_versions("m", [])] == [1, 2, 3]
    with pytest.raises(RegistryValueError, match="unknown stage 'Prod'"):
        modelpack.get_latest_versions("m", ["Prod"])
    with pytest.raises(RegistryValueError, match="Staging and Production, not None"):
        modelpack.transition_model_version_stage("m", 3, "none", archive_existing_versions=True)
    # the deprecated stage= form of MLflow's version tags: the newest version in that stage
    modelpack.set_model_version_tag("m", key="checked", value=1, stage="staging")
    assert modelpack.get_model_version("m", 2).tags == {"checked": "1"}
    modelpack.delete_model_version_tag("m", key="checked", stage="Staging")
    with pytest.raises(RegistryValueError, match="not both"):
        modelpack.set_model_version_tag("m", 1, "k", "v", stage="Staging")
    with pytest.raises(RegistryValueError, match="nothing to change"):
        modelpack.update_model_version("m", 1)
    updated = modelpack.update_registered_model("m", "first")
    assert updated.description == "first"
    assert modelpack.update_registered_model("m").description is None  # None clears, as MLflow


@pytest.mark.sqlite_only
def test_run_link_is_kept_and_a_store_from_before_it_gains_it(tmp_path: Path) -> None:
    # a store written at schema version 2, the last without model_versions.run_link
    db = tmp_path / "old-store" / "modelpack.db"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    for number in (1, 2):
        for statement in MIGRATIONS[number]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (number,))
    conn.execute(
        "INSERT INTO registered_models (name, creation_time, last_updated_time, last_version) "
        "VALUES ('old', 1, 1, 1)"
    )
    conn.execute(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, source, "
        "storage_location) VALUES ('old', 1, 1, 1, 'runs:/r/model', 'r/model')"
    )
    conn.commit()
    conn.close()
    client = RegistryClient(str(db.parent))
    assert client.get_model_version("old", 1).run_link is None
    made = client.create_model_version("old", "models:/old/1", run_link="https://ci/runs/7")
    assert (made.version, made.run_link) == (2, "https://ci/runs/7")
    assert client.get_model_version("old", 2).run_link == "https://ci/runs/7"
    assert client.copy_model_version("models:/old/2", "new").run_link == "https://ci/runs/7"
