"""A run search compiled as one (``compile_search``) returns what the filter and the order
compiled apart (``compile_filter`` + ``compile_order_by``) do.

``compile_search`` turns a metric, param or tag order term into an inner join carrying the
filter's conditions on that key (no ``IS NULL`` sort key) when the filter already requires
the key; these tests run both forms, the way ``search_runs`` splices them, on SQLite and
PostgreSQL, and check rows and order against each other and against the order spelled out in
Python (ties by newest start, then run id; NaN and missing metrics last, ascending and
descending).
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from modelpack._store import FilterError, Metric, NewRun, get_store
from modelpack._store._filter import compile_filter, compile_order_by, compile_search

pytestmark = pytest.mark.filterwarnings("error")

_RUNS = 48
_T0 = 1_700_000_000_000


def _run_values(i: int) -> dict[str, Any]:
    """Run ``i``: ties in rmse and in start time, NaN and missing rmse, some params and tags."""
    rng = random.Random(i)
    rmse: float | None = rng.choice([2.0, 3.5, 3.5, 4.0, 5.0, 6.25, 7.0, 9.5])
    if i % 7 == 3:
        rmse = math.nan
    elif i % 5 == 1:
        rmse = None
    values: dict[str, Any] = {
        "start": _T0 + i // 3,  # three runs share each start time: the run id breaks those ties
        "metrics": {"mae": rng.uniform(1.0, 3.0)} | ({} if rmse is None else {"rmse": rmse}),
        "params": {} if i % 4 == 2 else {"alpha": rng.choice(["0.01", "0.1", "1.0"])},
        "tags": {} if i % 6 == 5 else {"team": rng.choice(["x", "y"])},
    }
    return values


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, dict[str, dict[str, Any]]]:
    """(store URI, experiment id, run id -> values): one store per backend, only read."""
    root = tmp_path_factory.mktemp(f"order-{request.param}")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database()
        uri = f"{url}?artifact_root={root / 'artifacts'}"
    else:
        uri = str(root / "store")
    store = get_store(uri)
    experiment_id = store.create_experiment("order")
    runs = {}
    for i in range(_RUNS):
        values = _run_values(i)
        new = NewRun(experiment_id, f"run-{i}", "u", values["start"], tags=values["tags"])
        run_id = store.create_run(new).info.run_id
        metrics = [Metric(k, v, values["start"], 0) for k, v in values["metrics"].items()]
        store.log_batch(run_id, params=values["params"], metrics=metrics)
        runs[run_id] = values
    return uri, experiment_id, runs


def _page(
    uri: str,
    experiment_id: str,
    filter_string: str | None,
    order_by: list[str],
    *,
    together: bool,
    limit: int = 1000,
    offset: int = 0,
) -> list[str]:
    """Run ids as ``search_runs`` selects them, filter and order compiled together or apart."""
    if together:
        joins, join_params, where, params, order = compile_search(filter_string, order_by)
    else:
        where, params = compile_filter(filter_string)
        joins, join_params, order = compile_order_by(order_by)
    sql = (
        f"SELECT r.run_id FROM runs r {joins} WHERE r.lifecycle_stage IN (?) "
        f"AND r.experiment_id IN (?) AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?"
    )
    args = [*join_params, "active", int(experiment_id), *params, limit, offset]
    with get_store(uri).db.read() as conn:  # type: ignore[attr-defined]
        return [row[0] for row in conn.execute(sql, args).fetchall()]


def _expected(
    runs: dict[str, dict[str, Any]], key: str, direction: str, keep: Any = lambda v: True
) -> list[str]:
    """The order spelled out: runs with a number for ``key`` by value, then NaN or missing
    ones; each group's ties by the newest start, then the run id."""

    def sort_key(run_id: str) -> tuple[Any, ...]:
        value = runs[run_id]["metrics"].get(key)
        missing = value is None or math.isnan(value)
        number = 0.0 if missing else (value if direction == "ASC" else -value)
        return (missing, number, -runs[run_id]["start"], run_id)

    return sorted((r for r, v in runs.items() if keep(v)), key=sort_key)


def _rmse(values: dict[str, Any]) -> float:
    return float(values["metrics"].get("rmse", math.nan))


CASES = [
    ("metrics.rmse < 5", ["metrics.rmse ASC"], lambda v: _rmse(v) < 5),
    ("metrics.rmse < 5", ["metrics.rmse DESC"], lambda v: _rmse(v) < 5),
    ("metrics.rmse >= 3.5 and metrics.rmse != 7", ["metrics.rmse DESC"],
     lambda v: _rmse(v) >= 3.5 and _rmse(v) != 7),
    ("metrics.rmse > 6", ["metrics.rmse ASC"], lambda v: _rmse(v) > 6),
    (None, ["metrics.rmse ASC"], lambda v: True),
    (None, ["metrics.rmse DESC"], lambda v: True),
    ("metrics.mae > 1.5", ["metrics.rmse ASC"], lambda v: v["metrics"]["mae"] > 1.5),
    ("params.alpha = '0.1'", ["metrics.rmse DESC"], lambda v: v["params"].get("alpha") == "0.1"),
    ("metrics.rmse < 5 and tags.team = 'x'", ["metrics.rmse ASC"],
     lambda v: _rmse(v) < 5 and v["tags"].get("team") == "x"),
]  # fmt: skip
CASE_IDS = [
    "filter-on-key-asc", "filter-on-key-desc", "two-terms-on-key-desc", "high-range-asc",
    "no-filter-asc", "no-filter-desc", "other-metric", "other-param-desc", "key-and-tag",
]  # fmt: skip


@pytest.mark.parametrize(("filter_string", "order_by", "keep"), CASES, ids=CASE_IDS)
def test_metric_order_with_and_without_the_filter(
    filled: tuple[str, str, dict[str, dict[str, Any]]],
    filter_string: str | None,
    order_by: list[str],
    keep: Any,
) -> None:
    uri, experiment_id, runs = filled
    key, direction = order_by[0].removeprefix("metrics.").split()
    expected = _expected(runs, key, direction, keep)
    assert expected  # every case selects some runs
    for together in (False, True):
        found = _page(uri, experiment_id, filter_string, order_by, together=together)
        assert found == expected, f"together={together}"


@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        ("params.alpha IN ('0.1', '1.0')", ["params.alpha DESC", "metrics.rmse"]),
        ("params.alpha IS NOT NULL", ["params.alpha"]),
        ("params.alpha IS NULL", ["params.alpha", "metrics.rmse DESC"]),
        ("tags.team LIKE 'x%' and metrics.rmse <= 6.25", ["tags.team", "metrics.rmse DESC"]),
        ("tags.team != 'y'", ["tags.team DESC", "start_time"]),
        ("metrics.rmse = 3.5", ["metrics.rmse", "metrics.rmse DESC", "params.alpha"]),
        (None, ["params.alpha", "tags.team DESC", "metrics.rmse"]),
    ],
    ids=["param-in", "param-not-null", "param-null", "tag-like-and-metric", "tag-ne",
         "repeated-key", "no-filter-three-keys"],
)  # fmt: skip
def test_param_and_tag_order_is_the_same_either_way(
    filled: tuple[str, str, dict[str, dict[str, Any]]],
    filter_string: str,
    order_by: list[str],
) -> None:
    uri, experiment_id, _ = filled
    plain = _page(uri, experiment_id, filter_string, order_by, together=False)
    assert plain
    assert _page(uri, experiment_id, filter_string, order_by, together=True) == plain


@pytest.mark.parametrize("page_size", [1, 4, 7, 100])
@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        ("metrics.rmse < 5", ["metrics.rmse ASC"]),
        ("metrics.rmse >= 2", ["metrics.rmse DESC"]),
        (None, ["metrics.rmse DESC"]),
        ("metrics.mae > 0", ["metrics.rmse ASC"]),
    ],
    ids=["filter-asc", "filter-desc", "no-filter-missing-last", "other-key-missing-last"],
)
def test_pages_join_up_across_missing_and_nan_runs(
    filled: tuple[str, str, dict[str, dict[str, Any]]],
    filter_string: str | None,
    order_by: list[str],
    page_size: int,
) -> None:
    uri, experiment_id, _ = filled
    whole = _page(uri, experiment_id, filter_string, order_by, together=True)
    pages: list[str] = []
    while True:
        page = _page(
            uri, experiment_id, filter_string, order_by,
            together=True, limit=page_size, offset=len(pages),
        )  # fmt: skip
        pages += page
        if len(page) < page_size:
            break
    assert pages == whole == _page(uri, experiment_id, filter_string, order_by, together=False)


@pytest.mark.parametrize("page_size", [3, 10])
def test_search_runs_page_tokens_cross_from_numbers_to_missing(
    filled: tuple[str, str, dict[str, dict[str, Any]]], page_size: int
) -> None:
    uri, experiment_id, runs = filled
    store = get_store(uri)
    found: list[str] = []
    token: str | None = None
    while True:
        page = store.search_runs(
            [experiment_id], None, max_results=page_size, order_by=["metrics.rmse DESC"],
            page_token=token,
        )  # fmt: skip
        found += [run.info.run_id for run in page]
        token = page.token
        if token is None:
            break
    expected = _expected(runs, "rmse", "DESC")
    assert found == expected
    filtered = store.search_runs(
        [experiment_id], "metrics.rmse < 5", max_results=_RUNS, order_by=["metrics.rmse ASC"]
    )
    assert [r.info.run_id for r in filtered] == _expected(
        runs, "rmse", "ASC", lambda v: _rmse(v) < 5
    )


def test_a_required_key_is_an_inner_join_holding_the_filters_conditions() -> None:
    search = compile_search(
        "metrics.rmse < 5 and params.model = 'lr' and metrics.rmse >= 1",
        ["metrics.rmse DESC", "params.alpha"],
    )
    assert search.joins == (
        "JOIN latest_metrics o0 ON o0.run_id = r.run_id AND o0.key = ? AND o0.value < ? "
        "AND o0.value >= ? LEFT JOIN params o1 ON o1.run_id = r.run_id AND o1.key = ?"
    )
    assert search.join_params == ["rmse", 5.0, 1.0, "alpha"]
    assert search.where == compile_filter("params.model = 'lr'")[0]
    assert search.params == ["model", "lr"]
    assert search.order == (
        "o0.value DESC, o1.value IS NULL, o1.value ASC, r.start_time DESC, r.run_id"
    )


def test_is_not_null_on_the_key_is_the_inner_join_itself() -> None:
    search = compile_search("tags.team IS NOT NULL", ["tags.team DESC"])
    assert search == (
        "JOIN run_tags o0 ON o0.run_id = r.run_id AND o0.key = ?",
        ["team"],
        "1 = 1",
        [],
        "o0.value DESC, r.start_time DESC, r.run_id",
    )


@pytest.mark.parametrize(
    "filter_string",
    [None, "", "params.alpha IS NULL", "metrics.mae < 5", "tags.rmse = 'x'"],
    ids=["none", "empty", "is-null", "other-metric", "same-name-other-kind"],
)
def test_a_key_the_filter_does_not_require_stays_a_left_join(filter_string: str | None) -> None:
    joins, join_params, order = compile_order_by(["metrics.rmse"])
    where, params = compile_filter(filter_string)
    search = compile_search(filter_string, ["metrics.rmse"])
    assert search == (joins, join_params, where, params, order)
    assert joins.startswith("LEFT JOIN") and "o0.value IS NULL" in order


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metrics.rmse < 'low' and params.a = 1", "unquoted number"),
        ("params.a = 1 and metrics.rmse < 'low'", "quoted string"),
        ("metrics.rmse < 5 or metrics.rmse > 9", "OR is not supported"),
    ],
    ids=["first-term-first", "order-of-the-text", "or"],
)
def test_errors_come_as_from_compile_filter(filter_string: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        compile_filter(filter_string)
    with pytest.raises(FilterError, match=message):
        compile_search(filter_string, ["metrics.rmse"])


def test_a_bad_order_by_is_an_error_with_any_filter() -> None:
    with pytest.raises(FilterError, match="unknown key 'rmse'"):
        compile_search("metrics.rmse < 5", ["rmse ASC"])


def test_postgresql_reads_the_metric_index_from_the_filters_bound(
    filled: tuple[str, str, dict[str, dict[str, Any]]],
) -> None:
    uri, experiment_id, _ = filled
    if not uri.startswith("postgresql"):
        pytest.skip("a PostgreSQL plan")
    joins, join_params, where, params, order = compile_search(
        "metrics.rmse < 5", ["metrics.rmse ASC"]
    )
    sql = (
        f"EXPLAIN SELECT r.run_id FROM runs r {joins} WHERE r.experiment_id IN (?) "
        f"AND ({where}) ORDER BY {order} LIMIT 101"
    )
    with get_store(uri).db.read() as conn:  # type: ignore[attr-defined]
        # a tiny table: without these PostgreSQL would rather read it all; the shape is the point
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        try:
            rows = conn.execute(sql, [*join_params, int(experiment_id), *params]).fetchall()
        finally:
            conn.execute("RESET enable_seqscan")
            conn.execute("RESET enable_bitmapscan")
    plan = "\n".join(row[0] for row in rows)
    # the filter's bound reaches the index; with 48 runs PostgreSQL then sorts the few rows
    # (at 100,000 it reads them in index order and stops at the page's end)
    assert "Index Scan using latest_metrics_by_key on latest_metrics o0" in plan, plan
    assert "Index Cond: ((key = 'rmse'::text) AND (value < '5'::double precision))" in plan, plan
