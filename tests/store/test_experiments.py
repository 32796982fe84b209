"""Experiments: create, look up, search, delete and restore, tags, and the current one."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelpack
from modelpack._client._tracking import TrackingClient
from modelpack._run_artifacts import log_text
from modelpack._store import ViewType
from modelpack._tracking import (
    create_experiment,
    delete_experiment,
    get_experiment,
    get_experiment_by_name,
    search_experiments,
    set_experiment_tag,
    set_experiment_tags,
)
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError

pytestmark = pytest.mark.filterwarnings("error")


def _names(**kwargs: object) -> list[str]:
    return [e.name for e in search_experiments(**kwargs)]  # type: ignore[arg-type]


def test_create_and_look_up() -> None:
    exp_id = create_experiment("nyc-taxi", tags={"team": "ml", "size": 3})
    experiment = get_experiment(exp_id)
    assert experiment.experiment_id == exp_id and exp_id != "0"
    assert experiment.name == "nyc-taxi" and experiment.lifecycle_stage == "active"
    assert experiment.tags == {"team": "ml", "size": "3"}
    assert experiment.creation_time == experiment.last_update_time
    assert Path(experiment.artifact_location).is_absolute()
    assert get_experiment_by_name("nyc-taxi") == experiment
    assert get_experiment_by_name("nyc_taxi") is None  # None when missing, as in MLflow
    assert get_experiment("0").name == "Default"


def test_a_taken_name_is_an_error_naming_it() -> None:
    exp_id = create_experiment("taken")
    with pytest.raises(ModelExistsError, match=f"'taken' already exists \\(id {exp_id}\\)"):
        create_experiment("taken")
    delete_experiment(exp_id)
    with pytest.raises(ModelExistsError, match="is deleted: restore it"):
        create_experiment("taken")


@pytest.mark.parametrize("name", ["", "  ", None, 3])
def test_an_experiment_needs_a_name(name: object) -> None:
    with pytest.raises(StoreError, match="non-empty string"):
        create_experiment(name)  # type: ignore[arg-type]


def test_unknown_ids_say_what_exists() -> None:
    create_experiment("nyc-taxi")
    with pytest.raises(ModelNotFoundError, match="no experiment with id '7'.*nyc-taxi \\(id 1\\)"):
        get_experiment("7")
    with pytest.raises(ModelNotFoundError, match="experiment ids are integers"):
        get_experiment("nyc-taxi")


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'nyc-taxi'", ["nyc-taxi"]),
        ("name != 'nyc-taxi'", ["Default", "nyc-green", "chicago"]),
        ("name LIKE 'nyc-%'", ["nyc-taxi", "nyc-green"]),
        ("name LIKE 'NYC-%'", []),
        ("name ILIKE 'NYC-%'", ["nyc-taxi", "nyc-green"]),
        ("tags.team = 'ml'", ["nyc-taxi", "chicago"]),
        ("tags.team = 'ml' and name LIKE 'nyc%'", ["nyc-taxi"]),
        ("tags.team IS NULL", ["Default", "nyc-green"]),
        ("tags.team LIKE 'm%'", ["nyc-taxi", "chicago"]),
        ("experiment_id IN ('0', '2')", ["Default", "nyc-green"]),
        ("name = 'x'' OR 1=1 --'", []),
    ],
    ids=["eq", "ne", "like", "like-case", "ilike", "tag", "tag-and-name", "tag-null",
         "tag-like", "id-in", "injection"],
)  # fmt: skip
def test_search_filters(filter_string: str, expected: list[str]) -> None:
    create_experiment("nyc-taxi", tags={"team": "ml"})
    create_experiment("nyc-green")
    create_experiment("chicago", tags={"team": "ml"})
    assert sorted(_names(filter_string=filter_string)) == sorted(expected)


def test_search_order_and_limit() -> None:
    for name in ("b", "a", "c"):
        create_experiment(name)
    # newest first by default; creation times within one millisecond fall back to the id
    assert _names(order_by=["name ASC"]) == ["Default", "a", "b", "c"]
    assert _names(order_by=["name DESC"], max_results=2) == ["c", "b"]
    assert _names(order_by=["experiment_id DESC"]) == ["c", "a", "b", "Default"]
    assert _names()[-1] == "Default"
    with pytest.raises(ValueError, match="order by an attribute"):
        search_experiments(order_by=["tags.team"])


def test_deleting_an_experiment_hides_its_runs() -> None:
    exp_id = create_experiment("doomed")
    with modelpack.start_run(experiment_id=exp_id) as run:
        pass
    delete_experiment(exp_id)
    assert get_experiment(exp_id).lifecycle_stage == "deleted"
    assert _names() == ["Default"]
    assert _names(view_type=ViewType.DELETED_ONLY) == ["doomed"]
    assert sorted(_names(view_type=ViewType.ALL)) == ["Default", "doomed"]
    # its runs are deleted with it (as in MLflow), and come back with it
    assert modelpack.get_run(run.run_id).info.lifecycle_stage == "deleted"
    assert modelpack.search_runs(search_all_experiments=True, output_format="list") == []
    with pytest.raises(ModelNotFoundError, match="already deleted"):
        delete_experiment(exp_id)
    with pytest.raises(StoreError, match="is deleted; restore it"):
        modelpack.start_run(experiment_id=exp_id)
    with pytest.raises(StoreError, match="is deleted; restore it"):
        modelpack.set_experiment("doomed")
    TrackingClient().restore_experiment(exp_id)
    assert modelpack.get_run(run.run_id).info.lifecycle_stage == "active"
    with pytest.raises(ModelNotFoundError, match="already active"):
        TrackingClient().restore_experiment(exp_id)


def test_set_experiment_by_name_or_id() -> None:
    created = modelpack.set_experiment("nyc-taxi")
    assert created.name == "nyc-taxi" and created.experiment_id == "1"
    again = modelpack.set_experiment(experiment_name="nyc-taxi")
    assert again.experiment_id == created.experiment_id
    other = create_experiment("other")
    assert modelpack.set_experiment(experiment_id=other).name == "other"
    with modelpack.start_run() as run:
        pass
    assert run.info.experiment_id == other
    with pytest.raises(StoreError, match="one"):
        modelpack.set_experiment()
    with pytest.raises(StoreError, match="one"):
        modelpack.set_experiment("a", experiment_id="1")
    with pytest.raises(ModelNotFoundError):
        modelpack.set_experiment(experiment_id="99")


def test_the_current_experiment_follows_the_store(tmp_path: Path) -> None:
    modelpack.set_experiment("nyc-taxi")
    modelpack.set_store_uri(tmp_path / "elsewhere")
    with modelpack.start_run() as run:
        pass
    experiment = get_experiment(run.info.experiment_id)
    assert experiment.name == "nyc-taxi"  # created there under the same name


def test_tags_of_the_current_experiment() -> None:
    modelpack.set_experiment("nyc-taxi")
    set_experiment_tag("team", "ml")
    set_experiment_tags({"stage": "dev", "team": "ds"})
    assert get_experiment_by_name("nyc-taxi").tags == {"team": "ds", "stage": "dev"}  # type: ignore[union-attr]


def test_an_artifact_location_of_ones_own(tmp_path: Path) -> None:
    exp_id = create_experiment("mine", artifact_location=str(tmp_path / "mine"))
    assert get_experiment(exp_id).artifact_location == str(tmp_path / "mine")
    with modelpack.start_run(experiment_id=exp_id) as run:
        log_text("hello", "note.txt")
    assert (tmp_path / "mine" / run.run_id / "note.txt").read_text() == "hello"
    with pytest.raises(StoreError, match="keeps artifacts on the local disk"):
        create_experiment("remote", artifact_location="s3://bucket/path")
