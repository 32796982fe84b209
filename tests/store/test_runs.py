"""Runs: lifecycle and status, automatic tags, params, metrics, tags and search."""

from __future__ import annotations

import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._store import FilterError, Run, ViewType, get_store, git_commit
from modelpack._store._schema import MIGRATIONS
from modelpack._tracking import create_experiment, delete_run, delete_tag, last_active_run
from modelpack.exceptions import (
    MissingDependencyError,
    ModelNotFoundError,
    ModelpackWarning,
    StoreError,
)

pytestmark = pytest.mark.filterwarnings("error")


def _search(**kwargs: Any) -> list[Run]:
    found = modelpack.search_runs(output_format="list", **kwargs)
    assert isinstance(found, list)
    return found


def test_a_run_records_its_life(tmp_path: Path) -> None:
    with modelpack.start_run(run_name="first", tags={"developer": "ana"}) as run:
        assert modelpack.active_run() is run
        assert run.info.status == "RUNNING" and run.run_id == run.info.run_id
    assert modelpack.active_run() is None
    done = modelpack.get_run(run.run_id)
    assert done.info.status == "FINISHED"
    assert done.info.run_name == "first"
    assert done.info.end_time is not None and done.info.end_time >= done.info.start_time
    assert done.data.tags["developer"] == "ana"
    assert done.info.experiment_id == "0"  # Default


def test_a_failing_block_marks_the_run_failed_and_still_raises() -> None:
    with pytest.raises(ZeroDivisionError), modelpack.start_run() as run:
        1 / 0  # noqa: B018
    assert modelpack.get_run(run.run_id).info.status == "FAILED"
    assert modelpack.active_run() is None


def test_ctrl_c_marks_the_run_killed() -> None:
    with pytest.raises(KeyboardInterrupt), modelpack.start_run() as run:
        raise KeyboardInterrupt
    assert modelpack.get_run(run.run_id).info.status == "KILLED"


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "KILLED", "killed"])
def test_end_run_with_a_status(status: str) -> None:
    run = modelpack.start_run()
    modelpack.end_run(status)
    assert modelpack.get_run(run.run_id).info.status == status.upper()
    assert modelpack.active_run() is None


def test_end_run_refuses_an_unknown_status() -> None:
    modelpack.start_run()
    with pytest.raises(StoreError, match="FINISHED, FAILED or KILLED"):
        modelpack.end_run("DONE")


def test_a_second_run_needs_nested() -> None:
    with modelpack.start_run() as outer:
        with pytest.raises(StoreError, match="nested=True"):
            modelpack.start_run()
        with modelpack.start_run(nested=True) as inner:
            assert modelpack.active_run() is inner
        assert modelpack.active_run() is outer
    assert modelpack.get_run(inner.run_id).data.tags["mlflow.parentRunId"] == outer.run_id


def test_automatic_tags_source_user_and_commit() -> None:
    with modelpack.start_run() as run:
        pass
    tags = modelpack.get_run(run.run_id).data.tags
    assert tags["mlflow.source.name"] == str(Path(sys.argv[0]).absolute())
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags.get("mlflow.user")
    expected = git_commit(Path(sys.argv[0]).absolute().parent)
    assert tags.get("mlflow.source.git.commit") == expected
    assert tags["mlflow.runName"] == modelpack.get_run(run.run_id).info.run_name


def _fake_repo(root: Path, head: str) -> None:
    (root / ".git" / "refs" / "heads").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text(head)


def test_git_commit_from_a_loose_ref(tmp_path: Path) -> None:
    _fake_repo(tmp_path, "ref: refs/heads/main\n")
    (tmp_path / ".git" / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    (tmp_path / "src").mkdir()
    assert git_commit(tmp_path / "src") == "a" * 40


def test_git_commit_from_packed_refs(tmp_path: Path) -> None:
    _fake_repo(tmp_path, "ref: refs/heads/dev\n")
    (tmp_path / ".git" / "packed-refs").write_text(
        "# pack-refs with: peeled\n" + "b" * 40 + " refs/heads/dev\n^" + "c" * 40 + "\n"
    )
    assert git_commit(tmp_path) == "b" * 40


def test_git_commit_detached_head_and_worktree_file(tmp_path: Path) -> None:
    main = tmp_path / "main"
    _fake_repo(main, "d" * 40 + "\n")
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {main / '.git'}\n")
    assert git_commit(worktree) == "d" * 40


def test_params_metrics_and_tags() -> None:
    with modelpack.start_run() as run:
        modelpack.log_param("alpha", 0.1)
        modelpack.log_params({"model": "lasso", "max_iter": 1000})
        modelpack.log_param("alpha", 0.1)  # the same value again is fine
        modelpack.log_metric("rmse", 9.0, step=0)
        modelpack.log_metric("rmse", 7.5, step=2)
        modelpack.log_metric("rmse", 8.0, step=1)  # an earlier step logged late
        modelpack.log_metrics({"mae": 3.0, "r2": float("nan")})
        modelpack.set_tag("stage", "tuning")
        modelpack.set_tags({"stage": "final", "team": "ml"})
    data = modelpack.get_run(run.run_id).data
    assert data.params == {"alpha": "0.1", "model": "lasso", "max_iter": "1000"}
    assert data.metrics["rmse"] == 7.5  # the value at the highest step
    assert data.metrics["mae"] == 3.0 and math.isnan(data.metrics["r2"])
    assert data.tags["stage"] == "final" and data.tags["team"] == "ml"
    history = modelpack.get_metric_history(run.run_id, "rmse")
    assert [(m.step, m.value) for m in history] == [(0, 9.0), (1, 8.0), (2, 7.5)]
    assert all(m.timestamp > 0 for m in history)


def test_a_param_cannot_change() -> None:
    with modelpack.start_run():
        modelpack.log_param("alpha", 0.1)
        with pytest.raises(StoreError, match="already '0.1'"):
            modelpack.log_param("alpha", 0.2)


def test_a_metric_must_be_a_number() -> None:
    with modelpack.start_run(), pytest.raises(StoreError, match="must be a number"):
        modelpack.log_metric("rmse", "low")  # type: ignore[arg-type]


def test_logging_without_a_run_starts_one() -> None:
    modelpack.log_param("alpha", 1)
    run = modelpack.active_run()
    assert run is not None
    modelpack.end_run()
    assert modelpack.get_run(run.run_id).data.params == {"alpha": "1"}


def test_experiments_group_runs() -> None:
    exp = modelpack.set_experiment("nyc-taxi")
    assert exp.name == "nyc-taxi" and exp.experiment_id != "0"
    assert modelpack.set_experiment("nyc-taxi").experiment_id == exp.experiment_id
    with modelpack.start_run() as a:
        pass
    with modelpack.start_run(experiment_id=create_experiment("other")) as b:
        pass
    assert [r.run_id for r in _search()] == [a.run_id]
    assert [r.run_id for r in _search(experiment_names=["other"])] == [b.run_id]
    both = _search(search_all_experiments=True)
    assert {r.run_id for r in both} == {a.run_id, b.run_id}


def _runs_for_search() -> dict[str, str]:
    ids = {}
    for name, alpha, rmse, team in [
        ("a", "0.1", 6.5, "x"),
        ("b", "0.1", 8.0, "y"),
        ("c", "1.0", 5.0, "x"),
        ("d", "0.5", None, "x"),
    ]:
        with modelpack.start_run(run_name=name, tags={"team": team}) as run:
            modelpack.log_param("alpha", alpha)
            if rmse is not None:
                modelpack.log_metric("rmse", rmse)
        ids[name] = run.run_id
    return ids


@pytest.mark.parametrize(
    ("filter_", "order_by", "expected"),
    [
        ("metrics.rmse < 7", ["metrics.rmse ASC"], ["c", "a"]),
        ("metrics.rmse < 7 and params.alpha = '0.1'", None, ["a"]),
        ("params.alpha = '0.1' and tags.team = 'y'", None, ["b"]),
        (None, ["metrics.rmse DESC"], ["b", "a", "c", "d"]),  # missing metric last
        (None, ["metrics.rmse"], ["c", "a", "b", "d"]),
        ("params.alpha IN ('0.5', '1.0')", ["params.alpha"], ["d", "c"]),
        ("params.alpha NOT IN ('0.1')", ["run_name DESC"], ["d", "c"]),
        ("run_name LIKE 'a%'", None, ["a"]),
        ("attributes.run_name ILIKE 'B'", None, ["b"]),
        ("run_name LIKE 'B'", None, []),  # LIKE is case-sensitive
        ("status = 'FINISHED' and metrics.`rmse` >= 6.5", ["metrics.rmse"], ["a", "b"]),
        ("tags.team != 'x'", None, ["b"]),
        ("params.alpha = 'x'' OR 1=1 --'", None, []),  # a value stays a value
    ],
    ids=[
        "metric-lt", "metric-and-param", "param-and-tag", "desc-missing-last", "asc-default",
        "in", "not-in", "like", "ilike", "like-case", "attr-and-quoted-key", "tag-ne",
        "injection",
    ],
)  # fmt: skip
def test_search_runs(filter_: str | None, order_by: list[str] | None, expected: list[str]) -> None:
    ids = _runs_for_search()
    names = {v: k for k, v in ids.items()}
    found = _search(filter_string=filter_ or "", order_by=order_by)
    if order_by is None:
        assert sorted(names[r.run_id] for r in found) == sorted(expected)
    else:
        assert [names[r.run_id] for r in found] == expected


def test_search_runs_max_results_and_mlflow_shape() -> None:
    _runs_for_search()
    best = _search(order_by=["metrics.rmse ASC"], max_results=2)
    assert len(best) == 2
    assert best[0].data.metrics["rmse"] == 5.0 and best[0].data.params["alpha"] == "1.0"
    row = best[0].to_row()
    assert row["metrics.rmse"] == 5.0 and row["params.alpha"] == "1.0" and row["tags.team"] == "x"


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ("metrics.rmse < 'low'", "unquoted number"),
        ("params.alpha = 0.1", "quoted string"),
        ("params.alpha < '0.1'", "cannot be compared with <"),
        ("metrics.rmse < 7 or metrics.rmse > 9", "OR is not supported"),
        ("metrics.rmse <", "ends early"),
        ("rmse < 7", "unknown key 'rmse'"),
        ("metrics.rmse ~ 7", "cannot parse"),
        ("params.a IN '1'", "parenthesized list"),
    ],
    ids=["metric-string", "param-number", "param-lt", "or", "truncated", "bare-key", "bad-op",
         "in-without-list"],
)  # fmt: skip
def test_bad_filters_say_what_is_wrong(filter_: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        modelpack.search_runs(filter_string=filter_)


def test_bad_order_by() -> None:
    with pytest.raises(FilterError, match="unknown key"):
        modelpack.search_runs(order_by=["rmse ASC"])


def test_unknown_run_and_experiment_say_what_exists() -> None:
    with modelpack.start_run(run_name="only") as run:
        pass
    with pytest.raises(ModelNotFoundError, match=f"most recent: {run.run_id} \\(only\\)"):
        modelpack.get_run("0" * 32)
    with pytest.raises(ModelNotFoundError, match="Did you mean"):
        modelpack.get_run(run.run_id[:-1] + "x")
    modelpack.set_experiment("nyc-taxi")
    # as in MLflow, an unknown experiment name finds nothing; the warning says what exists
    with pytest.warns(ModelpackWarning, match="experiments: Default.*nyc-taxi.*nyc-taxi'"):
        assert _search(experiment_names=["nyc_taxi"]) == []
    with pytest.raises(ModelNotFoundError, match="experiments: Default.*nyc-taxi.*nyc-taxi'"):
        get_store().get_experiment_by_name("nyc_taxi")


def test_resuming_a_run() -> None:
    with modelpack.start_run(run_name="first") as run:
        modelpack.log_param("alpha", 1)
    ended = modelpack.get_run(run.run_id).info.end_time
    with modelpack.start_run(run_id=run.run_id, tags={"again": "yes"}) as resumed:
        assert resumed.run_id == run.run_id and resumed.info.status == "RUNNING"
        assert resumed.info.run_name == "first" and resumed.info.end_time == ended
        modelpack.log_metric("rmse", 1.0)
    back = modelpack.get_run(run.run_id)
    assert back.info.status == "FINISHED" and back.data.tags["again"] == "yes"
    assert back.data.params == {"alpha": "1"} and back.data.metrics == {"rmse": 1.0}
    with pytest.raises(ModelNotFoundError, match="no run with id 'nope'"):
        modelpack.start_run(run_id="nope")
    delete_run(run.run_id)
    with pytest.raises(StoreError, match="is deleted; restore it"):
        modelpack.start_run(run_id=run.run_id)
    assert modelpack.active_run() is None


def test_names_descriptions_and_parents() -> None:
    with modelpack.start_run(description="baseline") as run:
        pass
    data = modelpack.get_run(run.run_id)
    assert data.data.tags["mlflow.note.content"] == "baseline"
    assert data.info.run_name and data.data.tags["mlflow.runName"] == data.info.run_name
    with pytest.raises(StoreError, match="give the description once"):
        modelpack.start_run(description="a", tags={"mlflow.note.content": "b"})
    # an explicit parent without an active run: tagged, not nested
    with modelpack.start_run(parent_run_id=run.run_id) as child:
        pass
    assert modelpack.get_run(child.run_id).data.tags["mlflow.parentRunId"] == run.run_id
    with modelpack.start_run() as outer:
        with pytest.raises(StoreError, match="is not the active run"):
            modelpack.start_run(nested=True, parent_run_id=run.run_id)
        with modelpack.start_run(nested=True, parent_run_id=outer.run_id) as inner:
            pass
    assert modelpack.get_run(inner.run_id).data.tags["mlflow.parentRunId"] == outer.run_id
    children = _search(filter_string=f"tags.mlflow.parentRunId = '{outer.run_id}'")
    assert [r.run_id for r in children] == [inner.run_id]
    roots = _search(filter_string="tags.mlflow.parentRunId IS NULL")
    assert {r.run_id for r in roots} == {run.run_id, outer.run_id}


def test_last_active_run() -> None:
    assert last_active_run() is None
    with modelpack.start_run() as run:
        modelpack.log_param("alpha", 1)
        current = last_active_run()
        assert current is not None and current.data.params == {"alpha": "1"}
    ended = last_active_run()
    assert ended is not None and ended.info.run_id == run.run_id
    assert ended.info.status == "FINISHED"


def test_deleted_runs_leave_searches() -> None:
    with modelpack.start_run(run_name="kept"):
        pass
    with modelpack.start_run(run_name="mistake") as mistake:
        modelpack.log_metric("rmse", 0.0)
    delete_run(mistake.run_id)
    assert [r.info.run_name for r in _search()] == ["kept"]
    gone = _search(run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_name for r in gone] == ["mistake"]
    assert len(_search(run_view_type=ViewType.ALL)) == 2
    assert modelpack.get_run(mistake.run_id).info.lifecycle_stage == "deleted"


def test_logging_to_a_run_by_id_and_deleting_tags() -> None:
    with modelpack.start_run() as first:
        modelpack.set_tag("temporary", "x")
        delete_tag("temporary")
    with modelpack.start_run():
        modelpack.log_params({"alpha": 1}, run_id=first.run_id)
        modelpack.log_metric("rmse", 2.0, run_id=first.run_id, synchronous=True)
        modelpack.log_metrics({"mae": 1.0}, run_id=first.run_id, step=3)
    data = modelpack.get_run(first.run_id).data
    assert data.params == {"alpha": "1"} and data.metrics == {"rmse": 2.0, "mae": 1.0}
    assert "temporary" not in data.tags


def test_system_metrics_are_not_recorded() -> None:
    with pytest.warns(ModelpackWarning, match="no system metrics"):
        modelpack.start_run(log_system_metrics=True)
    modelpack.end_run()


def test_search_runs_frame() -> None:
    ids = _runs_for_search()
    time.sleep(0.005)  # start times are in ms: "the newer first" needs the open run to be newer
    with modelpack.start_run(run_name="open") as open_run:
        frame = modelpack.search_runs(order_by=["metrics.rmse ASC"])
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:6]) == [
        "run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
    ]  # fmt: skip
    assert {"metrics.rmse", "params.alpha", "tags.team", "tags.mlflow.runName"} <= set(
        frame.columns
    )
    # missing rmse last, the newer of those first
    assert list(frame["run_id"]) == [ids["c"], ids["a"], ids["b"], open_run.run_id, ids["d"]]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    assert frame["end_time"].isna().tolist() == [False, False, False, True, False]
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert frame["metrics.rmse"].dtype == "float64" and frame["metrics.rmse"].isna().sum() == 2
    assert frame["params.alpha"].isna().sum() == 1  # the open run has no alpha
    assert frame.iloc[0]["tags.mlflow.runName"] == "c"
    empty = modelpack.search_runs(filter_string="metrics.rmse > 100")
    assert list(empty.columns) == list(frame.columns[:6]) and len(empty) == 0


def test_search_runs_arguments() -> None:
    with pytest.raises(StoreError, match="not both"):
        modelpack.search_runs(experiment_ids=["0"], experiment_names=["Default"])
    with pytest.raises(ValueError, match="'pandas' or 'list'"):
        modelpack.search_runs(output_format="table")
    with modelpack.start_run() as run:
        pass
    assert [r.run_id for r in _search(experiment_ids=["0"])] == [run.run_id]
    assert [r.run_id for r in _search(experiment_names=["Default"])] == [run.run_id]
    assert [r.run_id for r in _search(max_results=1)] == [run.run_id]


def test_a_frame_needs_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match="output_format='list'.*pip install pandas"):
        modelpack.search_runs()
    assert _search() == []


@pytest.mark.mlflow
@pytest.mark.sqlite_only  # the MLflow half is the cost, and is the same for both
def test_the_frame_has_mlflows_columns_and_dtypes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # MLflow writes artifacts under the working directory

    def session(tool: Any) -> Any:
        with tool.start_run(run_name="a"):
            tool.log_param("alpha", "0.1")
            tool.log_metric("rmse", 1.5)
            tool.set_tag("team", "x")
        with tool.start_run(run_name="b"):
            tool.log_metric("mae", 2.0)
        tool.start_run(run_name="open")
        frame = tool.search_runs(order_by=["attributes.run_name ASC"])
        empty = tool.search_runs(filter_string="metrics.rmse > 100")
        tool.end_run()
        return frame, empty

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's own deprecation warnings
            theirs, theirs_empty = session(mlflow)
    finally:
        mlflow.set_tracking_uri(None)
    ours, ours_empty = session(modelpack)
    for a, b in ((ours, theirs), (ours_empty, theirs_empty)):
        # MLflow reads the git commit only with GitPython installed; modelpack always does
        columns = sorted(c for c in b.columns if c != "tags.mlflow.source.git.commit")
        assert sorted(c for c in a.columns if c != "tags.mlflow.source.git.commit") == columns
        assert list(a.columns[:6]) == list(b.columns[:6])
        assert {c: str(a[c].dtype) for c in columns} == {c: str(b[c].dtype) for c in columns}
    keep = ["status", "params.alpha", "metrics.rmse", "metrics.mae", "tags.team"]
    assert ours[keep].astype(str).values.tolist() == theirs[keep].astype(str).values.tolist()
    assert ours["end_time"].isna().tolist() == theirs["end_time"].isna().tolist()


@pytest.mark.sqlite_only
def test_a_store_written_before_mlflows_tag_names(tmp_path: Path) -> None:
    """Schema version 1 recorded modelpack.* tags; opening the store renames them."""
    import sqlite3

    from modelpack._store import set_store_uri

    folder = tmp_path / "old-store"
    folder.mkdir()
    conn = sqlite3.connect(folder / "modelpack.db")
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1, 0)")
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, user_id, "
        "artifact_location) VALUES ('r1', 0, 'old', 'FINISHED', 1, 'ana', '0/r1')"
    )
    conn.executemany(
        "INSERT INTO run_tags VALUES ('r1', ?, ?)",
        [
            ("modelpack.source.name", "/src/train.py"),
            ("modelpack.user", "ana"),
            ("modelpack.parentRunId", "r0"),
            ("modelpack.source.git.commit", "a" * 40),
            ("team", "ml"),
        ],
    )
    conn.commit()
    conn.close()
    set_store_uri(folder)
    tags = modelpack.get_run("r1").data.tags
    assert tags == {
        "mlflow.source.name": "/src/train.py",
        "mlflow.source.type": "LOCAL",
        "mlflow.user": "ana",
        "mlflow.parentRunId": "r0",
        "mlflow.source.git.commit": "a" * 40,
        "mlflow.runName": "old",
        "team": "ml",
    }
    assert get_store().get_experiment("0").last_update_time is not None
