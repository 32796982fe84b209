"""The column chooser's keys come from every run of the experiment, not its newest ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelpack._store import Metric, NewRun, Store, _run_keys, get_store
from modelpack._store._run_keys import SAMPLE_RUNS
from modelpack.exceptions import ModelNotFoundError
from tests.ui.conftest import UI, _start

#: more runs than the newest ones the chooser used to read
MANY = SAMPLE_RUNS + 20


def _log(store: Store, experiment: str, name: str, start: int, **keys: str) -> None:
    run = store.create_run(NewRun(experiment, name, "tester", start, {}))
    store.log_batch(
        run.run_id,
        params={keys.get("param", "alpha"): "1"},
        metrics=[Metric(keys.get("metric", "rmse"), 0.5, start, 0)],
        tags={keys.get("tag", "team"): "a"},
    )


def _fill(store: Store) -> dict[str, str]:
    """big: 5 runs, its oldest with keys of its own; small: 2 runs; empty: none."""
    ids = {name: store.create_experiment(name) for name in ("big", "small", "empty")}
    _log(store, ids["big"], "oldest", 1, param="only_old", metric="old_loss", tag="old_tag")
    for i in range(4):
        _log(store, ids["big"], f"big-{i}", 10 + i)
    for i in range(2):
        _log(store, ids["small"], f"small-{i}", 20 + i, param="beta", metric="acc")
    return ids


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    uri = str(tmp_path / "store")
    if request.param == "postgres":
        uri = request.getfixturevalue("pg_url")
    found = get_store(uri)
    yield found
    found.close()


def test_keys_of_every_run_by_where_the_runs_are(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_run_keys, "FEW_RUNS", 0)  # as with thousands of runs: count them first
    ids = _fill(store)
    big = store.run_keys([ids["big"]])  # most runs: the others' keys are taken away
    assert big == {
        "params": ["alpha", "only_old"],
        "metrics": ["old_loss", "rmse"],
        "tags": ["mlflow.runName", "old_tag", "team"],
    }
    small = store.run_keys([ids["small"]])  # few runs: one pass over theirs
    assert small["params"] == ["beta"] and small["metrics"] == ["acc"]
    both = store.run_keys([ids["big"], ids["small"]])  # every run
    assert both["params"] == ["alpha", "beta", "only_old"]
    assert store.run_keys(None) == both
    assert store.run_keys([ids["empty"]]) == {"params": [], "metrics": [], "tags": []}
    with pytest.raises(ModelNotFoundError, match="experiment ids are integers"):
        store.run_keys(["not-a-number"])


@pytest.fixture(scope="module")
def many_runs_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    folder = tmp_path_factory.mktemp("keys")
    store = get_store(str(folder / "store"))
    experiment = store.create_experiment("many")
    _log(store, experiment, "oldest", 1, param="only_in_the_oldest")
    for i in range(MANY):
        _log(store, experiment, f"run-{i:04d}", 100 + i)
    store.close()
    url, process = _start(folder / "store", folder / "ui.log")
    yield UI(url, folder / "store", folder / "ui.log", process)
    process.terminate()
    process.wait(timeout=30)


def test_few_runs_are_read_without_counting_the_store(store: Store) -> None:
    ids = _fill(store)
    assert store.run_keys([ids["big"]])["params"] == ["alpha", "only_old"]
    assert store.run_keys([ids["small"]])["params"] == ["beta"]


def test_the_chooser_offers_a_key_only_the_oldest_run_has(page: Any, many_runs_ui: UI) -> None:
    page.goto(f"{many_runs_ui.url}/")
    page.wait_for_selector("#runs tbody tr")
    page.click("details.columns summary")
    box = page.locator("#col-params-only_in_the_oldest")
    box.wait_for()
    assert box.is_visible()
    assert "only_in_the_oldest" in page.inner_text("details.columns")
