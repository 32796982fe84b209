"""Run data on PostgreSQL takes no store-wide lock (the registry still does), and stays right
when writers meet: a param set meanwhile by another writer, many runs logging at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from modelpack._store import Metric, NewRun, NewVersion, Store, get_store
from modelpack._store._postgres_db import _WRITE_LOCK
from modelpack.exceptions import StoreError

pytestmark = pytest.mark.filterwarnings("error")


class _Call(threading.Thread):
    """``fn`` in a thread of its own (its own store connection); ``.error`` if it raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None  # type: ignore[var-annotated]

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as e:
            self.error = e  # type: ignore[assignment]


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[Store]:
    store = get_store(f"{pg_url}?artifact_root={tmp_path}")
    yield store
    store.close()


def _new_run(store: Store) -> str:
    new = NewRun(experiment_id="0", run_name=None, user_id=None, start_time=1)
    return store.create_run(new).info.run_id


def test_run_data_goes_on_while_the_registry_lock_is_held(store: Store, pg_url: str) -> None:
    run_id = _new_run(store)

    def run_writes() -> str:
        other = _new_run(store)
        store.log_batch(other, metrics=[Metric("m", 1.0, 1, 0)])
        store.log_batch(other, params={"a": "1"}, metrics=[Metric("m", 2.0, 2, 1)], tags={"t": "x"})
        store.log_batch(other, tags={"u": "y"})
        store.log_batch(other, params={"b": "2"})
        store.update_run_info(other, status="FINISHED", end_time=5)
        store.delete_run(other)
        store.restore_run(other)
        return other

    with psycopg.connect(pg_url) as holder:  # a transaction holding the store's write lock
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
        writes = _Call(run_writes)
        version = _Call(
            lambda: store.create_model_version(
                NewVersion(name="m", source="s", storage_location="v", run_id=run_id,
                           create_model=True)
            )
        )  # fmt: skip
        writes.start()
        version.start()
        writes.join(60)
        assert not writes.is_alive() and writes.error is None, writes.error
        time.sleep(0.5)
        assert version.is_alive()  # the registry waits for the lock
    version.join(60)
    assert version.error is None and version.result.version == 1  # type: ignore[attr-defined]
    data = store.get_run(str(writes.result)).data
    assert data.params == {"a": "1", "b": "2"} and data.metrics == {"m": 2.0}
    assert data.tags["t"] == "x" and data.tags["u"] == "y"


@pytest.mark.parametrize(
    ("value", "refused"), [("other", True), ("same", False)], ids=["changed", "same-value"]
)
def test_a_param_set_meanwhile_by_another_writer(
    store: Store, pg_url: str, value: str, refused: bool
) -> None:
    run_id = _new_run(store)
    with psycopg.connect(pg_url) as writer:  # an uncommitted insert of the same key
        writer.execute(
            "INSERT INTO params (run_id, key, value) VALUES (%s, 'k', 'same')", (run_id,)
        )
        call = _Call(
            lambda: store.log_batch(run_id, params={"k": value}, metrics=[Metric("m", 1.0, 1, 0)])
        )
        call.start()
        time.sleep(0.5)
        assert call.is_alive()  # waits for the other writer's key
    call.join(60)
    data = store.get_run(run_id).data
    assert data.params == {"k": "same"}
    if refused:
        assert isinstance(call.error, StoreError) and "is already 'same'" in str(call.error)
        assert data.metrics == {}
    else:
        assert call.error is None and data.metrics == {"m": 1.0}


def test_many_runs_logging_at_once(store: Store) -> None:
    def one_run(n: int) -> str:
        run_id = _new_run(store)
        for step in range(30):
            store.log_batch(run_id, metrics=[Metric("loss", float(step), step, step)])
        store.log_batch(run_id, params={"n": str(n)}, tags={"n": str(n)})
        store.update_run_info(run_id, status="FINISHED", end_time=2)
        return run_id

    calls = [_Call(lambda n=n: one_run(n)) for n in range(8)]  # type: ignore[misc]
    for call in calls:
        call.start()
    for call in calls:
        call.join(120)
        assert call.error is None, call.error
    for n, call in enumerate(calls):
        run = store.get_run(str(call.result))
        assert run.info.status == "FINISHED" and run.data.params == {"n": str(n)}
        assert run.data.metrics == {"loss": 29.0}
        assert len(store.get_metric_history(run.info.run_id, "loss")) == 30
