"""Runs: lifecycle and status, automatic tags, params, metrics, tags and search."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._store import FilterError, Run, get_store, git_commit
from modelpack._tracking import create_experiment
from modelpack.exceptions import ModelNotFoundError, ModelpackWarning, StoreError

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
