/* Compare runs: parallel coordinates, scatter, contour (heatmap), metric histories, table. */
"use strict";
(function () {
  const { el, get, status, fmtNumber, params } = MP;
  const { draw, asNumber } = MPCharts;
  const content = document.getElementById("content");
  const ids = (params.get("run_ids") || "").split(",").filter(Boolean);
  let runs = [];
  let columns = [];  // "params.x" / "metrics.y"

  function value(run, column) {
    const dot = column.indexOf(".");
    return (run[column.slice(0, dot)] || {})[column.slice(dot + 1)];
  }
  function name(run) { return run.run_name || run.run_id.slice(0, 8); }
  function isNumeric(column) { return runs.every((r) => value(r, column) === undefined || asNumber(value(r, column)) !== null); }

  function select(id, label, options, chosen) {
    const box = el("select", { id, name: id }, options.map((o) => el("option", { value: o, text: o, selected: o === chosen })));
    return [el("label", { for: id }, label, box), box];
  }
  function chartBox(id, label) { return el("div", { id, className: "chart", role: "img", "aria-label": label }); }

  // ---------------------------------------------------------------- parallel coordinates
  function parallel(section) {
    const metrics = columns.filter((c) => c.startsWith("metrics."));
    const paramCols = columns.filter((c) => c.startsWith("params."));
    const [label, metricSelect] = select("pc-metric", "Metric", metrics, metrics[0]);
    const box = chartBox("parallel-chart", "Parallel coordinates of the params against the chosen metric; drag on an axis to filter");
    const picked = el("p", { id: "parallel-picked", className: "muted", "aria-live": "polite" });
    section.append(el("h2", { text: "Parallel coordinates" }), el("div", { className: "toolbar" }, label), box, picked);
    function render() {
      const dims = [...paramCols, metricSelect.value].filter(Boolean);
      const axes = dims.map((column, i) => {
        if (isNumeric(column)) return { dim: i, name: column.replace(/^\w+\./, ""), type: "value", scale: true };
        const cats = [...new Set(runs.map((r) => String(value(r, column) ?? "")))].sort();
        return { dim: i, name: column.replace(/^\w+\./, ""), type: "category", data: cats };
      });
      const data = runs.map((r) => ({ name: name(r), value: dims.map((c, i) => (axes[i].type === "value" ? asNumber(value(r, c)) : String(value(r, c) ?? ""))) }));
      const metricValues = data.map((d) => d.value[d.value.length - 1]).filter((v) => v !== null);
      const chart = draw(box, {
        parallelAxis: axes,
        parallel: { left: 60, right: 80, top: 50, bottom: 30 },
        tooltip: { trigger: "item", formatter: (p) => p.name },
        visualMap: metricValues.length ? { type: "continuous", formatter: (v) => fmtNumber(+v), min: Math.min(...metricValues), max: Math.max(...metricValues), dimension: dims.length - 1, right: 0, top: "middle", calculable: true, inRange: { color: ["#2c7bb6", "#ffffbf", "#d7191c"] } } : undefined,
        series: [{ type: "parallel", lineStyle: { width: 2, opacity: 0.8 }, data }],
      });
      picked.textContent = runs.length + " runs drawn";
      chart.off("axisareaselected");
      chart.on("axisareaselected", () => {
        const active = chart.getModel().getSeries()[0].getRawIndicesByActiveState("active");
        picked.textContent = active.length + " of " + runs.length + " runs inside the brushed ranges: " + active.map((i) => name(runs[i])).join(", ");
      });
    }
    metricSelect.addEventListener("change", render);
    render();
  }

  // --------------------------------------------------------------------------- scatter
  function scatter(section) {
    const numeric = columns.filter(isNumeric);
    const [lx, xSelect] = select("scatter-x", "X", numeric, numeric.find((c) => c.startsWith("params.")) || numeric[0]);
    const [ly, ySelect] = select("scatter-y", "Y", numeric, numeric.find((c) => c.startsWith("metrics.")) || numeric[1]);
    const box = chartBox("scatter-chart", "Scatter plot of two chosen columns, one point per run");
    section.append(el("h2", { text: "Scatter" }), el("div", { className: "toolbar" }, lx, ly), box);
    function render() {
      const data = runs.map((r) => ({ name: name(r), value: [asNumber(value(r, xSelect.value)), asNumber(value(r, ySelect.value))] }))
        .filter((d) => d.value[0] !== null && d.value[1] !== null);
      draw(box, {
        tooltip: { trigger: "item", formatter: (p) => p.name + ": " + p.value.map(fmtNumber).join(", ") },
        xAxis: { type: "value", name: xSelect.value, scale: true, nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "value", name: ySelect.value, scale: true },
        series: [{ type: "scatter", symbolSize: 10, data }],
      });
    }
    xSelect.addEventListener("change", render); ySelect.addEventListener("change", render);
    render();
  }

  // --------------------------------------------------------------------------- contour
  function contour(section) {
    const paramCols = columns.filter((c) => c.startsWith("params."));
    const metrics = columns.filter((c) => c.startsWith("metrics."));
    const [lx, xSelect] = select("contour-x", "Param X", paramCols, paramCols[0]);
    const [ly, ySelect] = select("contour-y", "Param Y", paramCols, paramCols[1] || paramCols[0]);
    const [lz, zSelect] = select("contour-z", "Metric", metrics, metrics[0]);
    const box = chartBox("contour-chart", "Two params against a metric: each cell is the mean metric of the runs with those values");
    section.append(el("h2", { text: "Contour: two params against a metric" }), el("div", { className: "toolbar" }, lx, ly, lz), box);
    function sorted(column) {
      const vals = [...new Set(runs.map((r) => value(r, column)).filter((v) => v !== undefined).map(String))];
      return isNumeric(column) ? vals.sort((a, b) => Number(a) - Number(b)) : vals.sort();
    }
    function render() {
      const xs = sorted(xSelect.value), ys = sorted(ySelect.value);
      const cells = new Map();
      for (const r of runs) {
        const x = value(r, xSelect.value), y = value(r, ySelect.value), z = asNumber(value(r, zSelect.value));
        if (x === undefined || y === undefined || z === null) continue;
        const key = xs.indexOf(String(x)) + "," + ys.indexOf(String(y));
        const cell = cells.get(key) || [0, 0];
        cells.set(key, [cell[0] + z, cell[1] + 1]);
      }
      const data = [...cells].map(([key, [sum, n]]) => [...key.split(",").map(Number), sum / n]);
      const zs = data.map((d) => d[2]);
      draw(box, {
        tooltip: { formatter: (p) => xs[p.value[0]] + ", " + ys[p.value[1]] + ": " + fmtNumber(p.value[2]) },
        xAxis: { type: "category", data: xs, name: xSelect.value, nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "category", data: ys, name: ySelect.value },
        visualMap: { min: zs.length ? Math.min(...zs) : 0, max: zs.length ? Math.max(...zs) : 1, calculable: true, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"] } },
        grid: { bottom: 80 },
        series: [{ type: "heatmap", data, label: { show: true, formatter: (p) => fmtNumber(p.value[2]) } }],
      });
    }
    for (const s of [xSelect, ySelect, zSelect]) s.addEventListener("change", render);
    render();
  }

  // ------------------------------------------------------------------- metric histories
  function histories(section) {
    const metrics = columns.filter((c) => c.startsWith("metrics.")).map((c) => c.slice(8));
    const [lm, metricSelect] = select("history-metric", "Metric", metrics, metrics[0]);
    const axisSelect = el("select", { id: "history-axis" }, el("option", { value: "step", text: "Step" }), el("option", { value: "time", text: "Time" }), el("option", { value: "relative", text: "Relative time (s)" }));
    const box = chartBox("history-chart", "Metric history, one line per run");
    section.append(el("h2", { text: "Metric history" }), el("div", { className: "toolbar" }, lm, el("label", { for: "history-axis" }, "X axis", axisSelect)), box);
    async function render() {
      if (!metricSelect.value) return;
      const data = await get("/ui/api/metric-history", { key: metricSelect.value, run_ids: ids.join(",") });
      const axis = axisSelect.value;
      const series = runs.map((r) => {
        const points = data.histories[r.run_id] || [];
        const t0 = points.length ? Math.min(...points.map((p) => p[1])) : 0;
        return { type: "line", name: name(r), showSymbol: points.length < 50,
          data: points.map((p) => [axis === "step" ? p[0] : axis === "time" ? p[1] : (p[1] - t0) / 1000, p[2]]) };
      });
      draw(box, {
        tooltip: { trigger: "axis" },
        legend: { type: "scroll", top: 0 },
        xAxis: { type: axis === "time" ? "time" : "value", name: axis, nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "value", name: metricSelect.value, scale: true },
        series,
      });
      box.dataset.drawn = metricSelect.value + ":" + axis;
    }
    metricSelect.addEventListener("change", render); axisSelect.addEventListener("change", render);
    return render();
  }

  // ------------------------------------------------------------------------ side by side
  function sideBySide(section) {
    const only = el("input", { type: "checkbox", id: "only-diff" });
    const box = el("div", { id: "side-by-side" });
    section.append(el("h2", { text: "Side by side" }), el("label", { for: "only-diff" }, only, " Show only rows that differ"), box);
    const fields = [["Status", (r) => r.status], ["User", (r) => r.user_id || ""]];
    for (const column of columns.concat(tagColumns())) fields.push([column, (r) => { const v = value(r, column); return v === undefined ? "" : (column.startsWith("metrics.") ? fmtNumber(v) : v); }]);
    function render() {
      const rows = [];
      for (const [label, get] of fields) {
        const values = runs.map(get);
        const differs = new Set(values).size > 1;
        if (only.checked && !differs) continue;
        rows.push(el("tr", { className: differs ? "diff" : null, "data-differs": differs ? "true" : "false" },
          el("th", { scope: "row", text: label }, differs ? el("span", { className: "skip", text: " (differs)" }) : null), values.map((v) => el("td", { text: v }))));
      }
      box.replaceChildren(el("div", { className: "table-wrap" }, el("table", { "aria-label": "Selected runs side by side" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "" }), runs.map((r) => el("th", { scope: "col" }, el("a", { href: MP.url("/runs/" + encodeURIComponent(r.run_id)), text: name(r) }))))),
        el("tbody", {}, rows))));
    }
    only.addEventListener("change", render);
    render();
  }
  function tagColumns() {
    const keys = new Set();
    for (const r of runs) for (const k of Object.keys(r.tags)) if (!k.startsWith("mlflow.")) keys.add("tags." + k);
    return [...keys].sort();
  }

  (async function start() {
    if (!ids.length) { status("Select runs on the runs page, then press Compare.", true); return; }
    status("Loading " + ids.length + " runs…");
    try {
      runs = (await get("/ui/api/compare", { run_ids: ids.join(",") })).runs;
    } catch (e) { status(e.message, true); return; }
    const keys = { params: new Set(), metrics: new Set() };
    for (const r of runs) { for (const k of Object.keys(r.params)) keys.params.add(k); for (const k of Object.keys(r.metrics)) keys.metrics.add(k); }
    columns = [...[...keys.params].sort().map((k) => "params." + k), ...[...keys.metrics].sort().map((k) => "metrics." + k)];
    document.getElementById("title").textContent = "Compare " + runs.length + " runs";
    const sections = ["parallel", "scatter", "contour", "history", "table"].map((id) => el("section", { id: "section-" + id }));
    content.append(...sections);
    parallel(sections[0]); scatter(sections[1]); contour(sections[2]);
    sideBySide(sections[4]);
    try { await histories(sections[3]); } catch (e) { status(e.message, true); return; }
    status("");
    document.body.dataset.ready = "1";
  })();
})();
