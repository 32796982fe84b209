"""Filter strings on PostgreSQL: values are bound, never spliced, and LIKE keeps MLflow's
meaning (case-sensitive; ILIKE not; % and _ the only wildcards, backslash an ordinary
character)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

import modelpack
from modelpack._store import FilterError, get_store

pytestmark = pytest.mark.filterwarnings("error")

NAMES = ["Taxi-1", "taxi-2", "taxi_3", "tax%i", r"ta\xi", "x'); DROP TABLE runs; --"]


@pytest.fixture(scope="module")
def filled(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store with a run per name (made once: the tests only read it)."""
    uri = f"{postgres.create_database()}?artifact_root={tmp_path_factory.mktemp('artifacts')}"
    modelpack.set_store_uri(uri)
    try:
        for name in NAMES:
            with modelpack.start_run(run_name=name):
                modelpack.log_param("p", name)
                modelpack.set_tag("t", name)
    finally:
        modelpack.set_store_uri(None)
    return uri


@pytest.fixture
def runs(filled: str) -> str:
    modelpack.set_store_uri(filled)
    return filled.split("?", 1)[0]


def _names(filter_string: str) -> set[str]:
    runs = modelpack.search_runs(filter_string=filter_string, output_format="list")
    return {r.info.run_name for r in runs}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("LIKE 'taxi%'", {"taxi-2", "taxi_3"}),
        ("ILIKE 'taxi%'", {"Taxi-1", "taxi-2", "taxi_3"}),
        ("LIKE 'tax_-%'", {"taxi-2"}),
        ("LIKE 'tax%i'", {"tax%i"}),
        (r"LIKE 'ta\xi'", {r"ta\xi"}),
        ("= 'x''); DROP TABLE runs; --'", {"x'); DROP TABLE runs; --"}),
        ("IN ('taxi-2', 'nope'' OR 1=1 --')", {"taxi-2"}),
    ],
    ids=["like", "ilike", "underscore", "percent-in-value", "backslash", "injection", "in-list"],
)
def test_text_conditions(runs: str, condition: str, expected: set[str]) -> None:
    for key in ("params.p", "tags.t", "attributes.run_name"):
        assert _names(f"{key} {condition}") == expected, key


def test_sql_in_a_filter_is_a_filter_error_and_changes_nothing(runs: str) -> None:
    for bad in ("params.p = 'a' OR 1=1", "params.p = 'a'; DROP TABLE runs", "1 = 1"):
        with pytest.raises(FilterError):
            _names(bad)
    with psycopg.connect(runs) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (len(NAMES),)


def test_registry_names_with_sql_text(pg_url: str, tmp_path: Path) -> None:
    from modelpack._store import NewVersion

    store = get_store(f"{pg_url}?artifact_root={tmp_path}")
    for name in ("m'; DROP TABLE model_versions; --", "m%", "M_1"):
        store.create_model_version(
            NewVersion(name=name, source="s", storage_location="x", create_model=True)
        )
    found = store.search_registered_models("name LIKE 'm%'")
    assert {m.name for m in found} == {"m'; DROP TABLE model_versions; --", "m%"}
    assert [v.name for v in store.search_model_versions("name = 'm%'")] == ["m%"]
    assert {m.name for m in store.search_registered_models("name ILIKE 'm\\_1'")} == set()
