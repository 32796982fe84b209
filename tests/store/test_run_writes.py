"""log_batch on both databases: every mix of parts, the run-is-active check folded into the
first write, params written once, batches past one statement's bound."""

from __future__ import annotations

import math

import pytest

from modelpack._store import Metric, NewRun, Store, get_store
from modelpack.exceptions import ModelNotFoundError, StoreError

pytestmark = pytest.mark.filterwarnings("error")


def _new_run(store: Store) -> str:
    new = NewRun(experiment_id="0", run_name=None, user_id=None, start_time=1)
    return store.create_run(new).info.run_id


def _batch(part: str, n: int = 1) -> dict[str, object]:
    if part == "params":
        return {"params": {f"p{i}": str(i) for i in range(n)}}
    if part == "metrics":
        return {"metrics": [Metric(f"m{i}", float(i), 1000 + i, 0) for i in range(n)]}
    return {"tags": {f"t{i}": str(i) for i in range(n)}}


PARTS = [("params",), ("metrics",), ("tags",), ("params", "metrics", "tags"), ("metrics", "tags")]


def _joined(parts: tuple[str, ...], n: int = 1) -> dict[str, object]:
    out: dict[str, object] = {}
    for part in parts:
        out.update(_batch(part, n))
    return out


@pytest.mark.parametrize("parts", PARTS, ids=["+".join(p) for p in PARTS])
@pytest.mark.parametrize("n", [1, 400], ids=["one", "400-each"])
def test_a_batch_writes_each_part(parts: tuple[str, ...], n: int) -> None:
    store = get_store()
    run_id = _new_run(store)
    store.log_batch(run_id, **_joined(parts, n))  # type: ignore[arg-type]
    data = store.get_run(run_id).data
    assert len(data.params) == (n if "params" in parts else 0)
    assert len(data.metrics) == (n if "metrics" in parts else 0)
    assert len(data.tags) - 1 == (n if "tags" in parts else 0)  # and mlflow.runName
    if "metrics" in parts:
        assert data.metrics[f"m{n - 1}"] == float(n - 1)
        history = store.get_metric_history(run_id, f"m{n - 1}")
        assert [(m.value, m.timestamp, m.step) for m in history] == [(n - 1.0, 1000 + n - 1, 0)]


@pytest.mark.parametrize("parts", PARTS, ids=["+".join(p) for p in PARTS])
def test_a_deleted_run_takes_no_batch_and_keeps_nothing(parts: tuple[str, ...]) -> None:
    store = get_store()
    run_id = _new_run(store)
    store.delete_run(run_id)
    with pytest.raises(StoreError, match="is deleted; restore it"):
        store.log_batch(run_id, **_joined(parts, 3))  # type: ignore[arg-type]
    store.restore_run(run_id)
    data = store.get_run(run_id).data
    assert (data.params, data.metrics, set(data.tags)) == ({}, {}, {"mlflow.runName"})
    assert store.get_metric_history(run_id, "m0") == []


@pytest.mark.parametrize("parts", PARTS, ids=["+".join(p) for p in PARTS])
def test_an_unknown_run_is_named(parts: tuple[str, ...]) -> None:
    store = get_store()
    with pytest.raises(ModelNotFoundError, match="no run with id 'f00d'"):
        store.log_batch("f00d", **_joined(parts))  # type: ignore[arg-type]


def test_an_empty_batch_still_checks_the_run() -> None:
    store = get_store()
    run_id = _new_run(store)
    store.log_batch(run_id)
    store.delete_run(run_id)
    with pytest.raises(StoreError, match="is deleted"):
        store.log_batch(run_id)


def test_a_changed_param_refuses_the_whole_batch() -> None:
    store = get_store()
    run_id = _new_run(store)
    store.log_batch(run_id, params={"alpha": "0.1", "beta": "1"})
    store.log_batch(run_id, params={"alpha": "0.1", "gamma": "2"})  # the same value: fine
    with pytest.raises(StoreError, match=r"param 'beta' .* is already '1'.*tried '3'"):
        store.log_batch(
            run_id,
            params={"alpha": "0.1", "beta": "3", "delta": "4"},
            metrics=[Metric("rmse", 1.0, 5, 0)],
            tags={"stage": "x"},
        )
    data = store.get_run(run_id).data
    assert data.params == {"alpha": "0.1", "beta": "1", "gamma": "2"}
    assert "rmse" not in data.metrics and "stage" not in data.tags
    assert store.get_metric_history(run_id, "rmse") == []


def test_nan_alone_and_the_latest_value_rules() -> None:
    store = get_store()
    run_id = _new_run(store)
    store.log_batch(run_id, metrics=[Metric("r2", math.nan, 10, 0)])
    assert math.isnan(store.get_run(run_id).data.metrics["r2"])
    # in one batch: the highest step wins, then the newest timestamp, then the last logged
    store.log_batch(
        run_id,
        metrics=[
            Metric("loss", 3.0, 10, 2),
            Metric("loss", 1.0, 50, 1),
            Metric("loss", 2.0, 10, 2),
        ],
    )
    assert store.get_run(run_id).data.metrics["loss"] == 2.0
    store.log_batch(run_id, metrics=[Metric("loss", 9.0, 99, 1)])  # an earlier step, later
    assert store.get_run(run_id).data.metrics["loss"] == 2.0
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 11, 2)])  # same step, newer
    assert store.get_run(run_id).data.metrics["loss"] == 0.5
    history = store.get_metric_history(run_id, "loss")
    assert [m.value for m in history] == [1.0, 9.0, 3.0, 2.0, 0.5]


def test_a_batch_past_one_statements_bound() -> None:
    store = get_store()
    run_id = _new_run(store)
    metrics = [Metric("big", float(i), i, i) for i in range(6000)]
    store.log_batch(run_id, metrics=metrics, params={"k": "v"})
    assert store.get_run(run_id).data.metrics["big"] == 5999.0
    assert len(store.get_metric_history(run_id, "big")) == 6000
