"""The tracking half of the client: MLflow's signatures, its store, and MLflow's answers."""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack import _run_artifacts, _tracking
from modelpack import artifacts as mp_artifacts
from modelpack._client._tracking import TrackingClient
from modelpack._store import Metric, PagedList, Param, RunTag, ViewType
from modelpack.exceptions import (
    ModelExistsError,
    ModelNotFoundError,
    ModelpackError,
    StoreError,
)

pytestmark = pytest.mark.filterwarnings("error")

#: every tracking method of MlflowClient that TrackingClient has
CLIENT_METHODS = [
    "create_experiment",
    "create_run",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "download_artifacts",
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "get_parent_run",
    "get_run",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_param",
    "log_text",
    "rename_experiment",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment_tag",
    "set_tag",
    "set_terminated",
    "update_run",
]
#: MLflow's module-level tracking functions modelpack has, and where modelpack keeps them
FLUENT = {
    **{
        name: _tracking
        for name in (
            "active_run",
            "create_experiment",
            "delete_experiment",
            "delete_run",
            "delete_tag",
            "end_run",
            "get_experiment",
            "get_experiment_by_name",
            "get_run",
            "last_active_run",
            "log_metric",
            "log_metrics",
            "log_param",
            "log_params",
            "search_experiments",
            "search_runs",
            "set_experiment",
            "set_experiment_tag",
            "set_experiment_tags",
            "set_tag",
            "set_tags",
            "start_run",
        )
    },
    **{
        name: _run_artifacts
        for name in (
            "get_artifact_uri",
            "log_artifact",
            "log_artifacts",
            "log_dict",
            "log_figure",
            "log_image",
            "log_text",
        )
    },
}
#: parameters of MLflow's for its hosted services (traces in Unity Catalog), not taken here
HOSTED_ONLY = {"trace_location"}


@pytest.fixture(autouse=True)
def _clean_tracking_state() -> Iterator[None]:
    yield
    from modelpack import _store

    while modelpack.active_run() is not None:
        modelpack.end_run()
    _tracking._active_experiment = None
    _tracking._last_run = None
    modelpack.set_store_uri(None)
    _store.close_stores()


def _shape(fn: Any) -> list[tuple[str, Any]]:
    params = inspect.signature(fn).parameters.values()
    return [(p.name, p.default) for p in params if p.name not in ("self", *HOSTED_ONLY)]


@pytest.mark.mlflow
@pytest.mark.parametrize("name", CLIENT_METHODS)
def test_client_methods_have_mlflows_signatures(name: str) -> None:
    mlflow_client = pytest.importorskip("mlflow").MlflowClient
    assert _shape(getattr(TrackingClient, name)) == _shape(getattr(mlflow_client, name))


@pytest.mark.mlflow
@pytest.mark.parametrize("name", sorted(FLUENT))
def test_module_functions_have_mlflows_signatures(name: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    assert _shape(getattr(FLUENT[name], name)) == _shape(getattr(mlflow, name))


@pytest.mark.mlflow
@pytest.mark.parametrize(
    "name", ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]
)
def test_artifacts_module_has_mlflows_signatures(name: str) -> None:
    theirs = pytest.importorskip("mlflow.artifacts")
    assert _shape(getattr(mp_artifacts, name)) == _shape(getattr(theirs, name))


def test_runs_by_hand_with_log_batch() -> None:
    client = TrackingClient()
    exp_id = client.create_experiment("by-hand", tags={"team": "ds"})
    run = client.create_run(exp_id, run_name="run-0", tags={"index": 0}, start_time=1000)
    assert run.info.status == "RUNNING" and run.info.start_time == 1000
    assert run.data.tags == {"index": "0", "mlflow.runName": "run-0"}
    now = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("loss", 1.0, now, 0), Metric("loss", 0.5, now, 1)],
        params=[Param("lr", "0.1"), Param("layers", "2")],
        tags=[RunTag("kind", "even")],
    )
    assert client.log_param(run.info.run_id, "seed", 42) == 42
    client.log_metric(run.info.run_id, "acc", 0.75, step=3)
    client.set_tag(run.info.run_id, "stage", "done")
    client.set_terminated(run.info.run_id)
    back = client.get_run(run.info.run_id)
    assert back.info.status == "FINISHED" and back.info.end_time is not None
    assert back.data.params == {"lr": "0.1", "layers": "2", "seed": "42"}
    assert back.data.metrics == {"loss": 0.5, "acc": 0.75}
    assert back.data.tags["kind"] == "even" and back.data.tags["stage"] == "done"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5)]
    assert client.get_metric_history(run.info.run_id, "nothing") == []


def test_a_run_without_a_name_gets_one() -> None:
    run = TrackingClient().create_run("0")
    name = run.info.run_name
    assert name and name.count("-") == 2 and run.data.tags["mlflow.runName"] == name


def test_status_and_name_updates() -> None:
    client = TrackingClient()
    run_id = client.create_run("0").info.run_id
    client.set_terminated(run_id, status="KILLED", end_time=123)
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("KILLED", 123)
    client.update_run(run_id, name="renamed")
    run = client.get_run(run_id)
    assert run.info.run_name == "renamed" and run.data.tags["mlflow.runName"] == "renamed"
    assert run.info.status == "KILLED"
    with pytest.raises(StoreError, match="unknown run status 'DONE'"):
        client.set_terminated(run_id, status="DONE")


def test_paging_through_runs() -> None:
    client = TrackingClient()
    exp_id = client.create_experiment("paged")
    for i in range(7):
        run = client.create_run(exp_id, run_name=f"run-{i}", start_time=1000 + i)
        client.log_metric(run.info.run_id, "loss", 1.0 / (i + 1))
        client.set_tag(run.info.run_id, "kind", "even" if i % 2 == 0 else "odd")
    pages, token = [], None
    while True:
        page = client.search_runs(
            [exp_id], "tags.kind = 'even'", order_by=["metrics.loss ASC"], max_results=2,
            page_token=token,
        )  # fmt: skip
        assert isinstance(page, PagedList)
        pages.append([r.info.run_name for r in page])
        token = page.token
        if not token:
            break
    assert pages == [["run-6", "run-4"], ["run-2", "run-0"]]
    newest = client.search_runs([exp_id], max_results=3)
    assert [r.info.run_name for r in newest] == ["run-6", "run-5", "run-4"] and newest.token


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_results": 0}, "between 1 and 50000"),
        ({"max_results": 50001}, "between 1 and 50000"),
        ({"page_token": "not a token"}, "invalid page token"),
        ({"filter_string": "metrics.loss < 'x'"}, "unquoted number"),
    ],
    ids=["zero", "too-many", "bad-token", "bad-filter"],
)
def test_search_runs_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelpackError, match=message):
        TrackingClient().search_runs(["0"], **kwargs)


def test_deleted_runs_and_view_types() -> None:
    client = TrackingClient()
    kept = client.create_run("0", run_name="kept").info.run_id
    gone = client.create_run("0", run_name="gone").info.run_id
    client.delete_run(gone)
    client.delete_run(gone)  # twice is fine, as in MLflow
    assert client.get_run(gone).info.lifecycle_stage == "deleted"

    def names(view: int) -> list[str | None]:
        return sorted(r.info.run_name for r in client.search_runs(["0"], run_view_type=view))

    assert names(ViewType.ACTIVE_ONLY) == ["kept"]
    assert names(ViewType.DELETED_ONLY) == ["gone"]
    assert names(ViewType.ALL) == ["gone", "kept"]
    with pytest.raises(StoreError, match=f"run {gone} is deleted; restore it"):
        client.log_param(gone, "a", 1)
    client.restore_run(gone)
    client.log_param(gone, "a", 1)
    assert names(ViewType.ACTIVE_ONLY) == ["gone", "kept"] and kept


def test_errors_name_what_is_missing() -> None:
    client = TrackingClient()
    run_id = client.create_run("0", run_name="only").info.run_id
    missing = "f" * 32
    for call in (
        lambda: client.get_run(missing),
        lambda: client.log_param(missing, "a", 1),
        lambda: client.set_terminated(missing),
        lambda: client.delete_run(missing),
        lambda: client.get_metric_history(missing, "loss"),
        lambda: client.list_artifacts(missing),
    ):
        with pytest.raises(ModelNotFoundError, match=f"no run with id '{missing}'.*only"):
            call()
    with pytest.raises(ModelNotFoundError, match="has no tag 'nope'"):
        client.delete_tag(run_id, "nope")
    with pytest.raises(ModelNotFoundError, match="no experiment with id '42'.*Default"):
        client.get_experiment("42")
    assert client.get_experiment_by_name("nope") is None


def test_a_param_never_changes() -> None:
    client = TrackingClient()
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "alpha", 0.1)
    client.log_param(run_id, "alpha", "0.1")  # the same value again is fine
    with pytest.raises(StoreError, match="param 'alpha' .* is already '0.1'.*tried '0.2'"):
        client.log_param(run_id, "alpha", 0.2)
    with pytest.raises(StoreError, match="appears twice in one batch"):
        client.log_batch(run_id, params=[Param("beta", "1"), Param("beta", "2")])
    with pytest.raises(StoreError, match="must be a number"):
        client.log_metric(run_id, "rmse", "low")
    with pytest.raises(StoreError, match="non-empty strings"):
        client.log_param(run_id, "", 1)


def test_experiments_by_hand() -> None:
    client = TrackingClient()
    exp_id = client.create_experiment("first", tags={"team": "ds"})
    assert isinstance(exp_id, str)
    with pytest.raises(ModelExistsError, match="'first' already exists"):
        client.create_experiment("first")
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.delete_experiment_tag(exp_id, "team")
    client.rename_experiment(exp_id, "renamed")
    experiment = client.get_experiment(exp_id)
    assert (experiment.name, experiment.tags) == ("renamed", {"stage": "dev"})
    assert experiment.last_update_time is not None
    assert experiment.last_update_time >= (experiment.creation_time or 0)
    with pytest.raises(ModelExistsError, match="'Default' already exists"):
        client.rename_experiment(exp_id, "Default")
    for name in ("b", "c"):
        client.create_experiment(name)
    first = client.search_experiments(max_results=2, order_by=["name ASC"])
    rest = client.search_experiments(max_results=2, order_by=["name ASC"], page_token=first.token)
    assert [e.name for e in first] + [e.name for e in rest] == ["Default", "b", "c", "renamed"]
    assert rest.token is None


def test_a_client_works_on_its_own_store(tmp_path: Path) -> None:
    elsewhere = TrackingClient(f"sqlite:///{tmp_path / 'other' / 'store.db'}")
    run = elsewhere.create_run(elsewhere.create_experiment("there"))
    elsewhere.log_text(run.info.run_id, "hi", "a.txt")
    assert TrackingClient().get_experiment_by_name("there") is None
    with pytest.raises(ModelNotFoundError):
        TrackingClient().get_run(run.info.run_id)
    local = elsewhere.download_artifacts(run.info.run_id, "a.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hi" and Path(local).parent == tmp_path / "dl"


def test_parent_run() -> None:
    with modelpack.start_run() as parent, modelpack.start_run(nested=True) as child:
        pass
    client = TrackingClient()
    found = client.get_parent_run(child.run_id)
    assert found is not None and found.info.run_id == parent.run_id
    assert client.get_parent_run(parent.run_id) is None


def test_metric_links_to_datasets_are_not_kept() -> None:
    client = TrackingClient()
    run_id = client.create_run("0").info.run_id
    with pytest.warns(UserWarning, match="does not link metrics"):
        client.log_metric(run_id, "rmse", 1.0, model_id="m-1")
    assert client.get_run(run_id).data.metrics == {"rmse": 1.0}
