"""The compare page draws what was selected: lines and points read from the ECharts instances."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.ui.conftest import UI

_SERIES = """(id) => {
    const chart = echarts.getInstanceByDom(document.getElementById(id));
    return chart.getOption().series.map(s => s.data.length);
}"""


@pytest.fixture(scope="module")
def five_run_ids(ui: UI) -> list[str]:
    query = urllib.parse.urlencode({"order_by": "metrics.rmse ASC", "max_results": 5})
    status, body = ui.call(f"/ui/api/runs?{query}")
    assert status == 200
    return [r["run_id"] for r in body["runs"]]


def _open(page: Any, ui: UI, ids: list[str]) -> None:
    page.goto(f"{ui.url}/compare?run_ids={','.join(ids)}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")


def test_every_chart_draws_one_line_or_point_per_run(
    page: Any, ui: UI, five_run_ids: list[str]
) -> None:
    _open(page, ui, five_run_ids)
    assert page.evaluate(_SERIES, "parallel-chart") == [5]
    assert page.evaluate(_SERIES, "scatter-chart") == [5]
    assert page.evaluate(_SERIES, "history-chart") == [1] * 5  # mae: one value per run
    page.select_option("#history-metric", "rmse")
    page.wait_for_function(
        "() => document.getElementById('history-chart').dataset.drawn === 'rmse:step'"
    )
    assert page.evaluate(_SERIES, "history-chart") == [4] * 5  # 5 lines of 4 steps
    assert sum(page.evaluate(_SERIES, "contour-chart")) >= 1
    assert page.inner_text("#title") == "Compare 5 runs"


def test_parallel_axes_are_the_params_and_the_chosen_metric(
    page: Any, ui: UI, five_run_ids: list[str]
) -> None:
    _open(page, ui, five_run_ids)
    names = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById('parallel-chart'))
            .getOption().parallelAxis.map(a => a.name)"""
    )
    assert names == ["alpha", "depth", "mae"]
    page.select_option("#pc-metric", "metrics.rmse")
    names = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById('parallel-chart'))
            .getOption().parallelAxis.map(a => a.name)"""
    )
    assert names[-1] == "rmse"


def test_history_switches_to_a_time_axis(page: Any, ui: UI, five_run_ids: list[str]) -> None:
    _open(page, ui, five_run_ids[:2])
    page.select_option("#history-metric", "rmse")
    page.select_option("#history-axis", "time")
    page.wait_for_function(
        "() => document.getElementById('history-chart').dataset.drawn === 'rmse:time'"
    )
    axis = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById('history-chart'))
            .getOption().xAxis[0].type"""
    )
    assert axis == "time"


def test_side_by_side_marks_differences(page: Any, ui: UI, five_run_ids: list[str]) -> None:
    _open(page, ui, five_run_ids)
    differing = page.locator("#side-by-side tr[data-differs='true'] th").all_inner_texts()
    assert any(t.startswith("metrics.rmse") for t in differing)
    assert not any(t.startswith("Status") for t in differing)
    page.check("#only-diff")
    assert page.locator("#side-by-side tr[data-differs='false']").count() == 0


def test_brushing_an_axis_keeps_the_runs_inside_the_range(
    page: Any, ui: UI, five_run_ids: list[str]
) -> None:
    _open(page, ui, five_run_ids)
    page.select_option("#pc-metric", "metrics.rmse")
    values = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('parallel-chart'));
            const option = chart.getOption();
            const last = option.parallelAxis.length - 1;
            const axis = chart.getModel().getComponent('parallelAxis', last);
            const data = option.series[0].data.map(d => d.value[d.value.length - 1]);
            const sorted = [...data].sort((a, b) => a - b);
            chart.dispatchAction({type: 'axisAreaSelect', parallelAxisId: axis.id,
                                  intervals: [[sorted[0] - 1e-9, sorted[1] + 1e-9]]});
            return sorted;
        }"""
    )
    assert len(values) == 5
    page.wait_for_function(
        "() => document.getElementById('parallel-picked').textContent.startsWith('2 of 5')"
    )
