/* The runs table: sorting, filtering and paging happen on the server (search_runs). */
"use strict";
(function () {
  const { el, get, status, fmtNumber, fmtTime, fmtDuration, params } = MP;
  const content = document.getElementById("content");
  const PAGE = 50;
  const view = {
    experiment: params.get("experiment_id") || "",
    filter: params.get("filter") || "",
    order: params.get("order_by") || "",
    tokens: [""],   // page tokens: tokens[i] fetches page i
    page: 0,
    columns: null,  // chosen extra columns, e.g. ["metrics.rmse", "params.alpha"]
    known: { params: [], metrics: [], tags: [] },
    selected: new Set(),
  };

  const experimentSelect = el("select", { id: "experiment", "aria-label": "Experiment" });
  const filterInput = el("input", { type: "search", id: "filter", name: "filter", value: view.filter,
    placeholder: "metrics.rmse < 7 and params.alpha = '0.1'", "aria-describedby": "filter-error" });
  const filterError = el("div", { id: "filter-error", className: "error", "aria-live": "assertive" });
  const compareButton = el("button", { type: "button", id: "compare", className: "primary", disabled: true, text: "Compare selected (0)" });
  const chooser = el("details", { className: "columns" }, el("summary", { text: "Columns" }));
  const tableBox = el("div", { id: "runs-table" });
  const pageInfo = el("span", { id: "page-info", className: "muted" });
  const prev = el("button", { type: "button", id: "prev-page", text: "Previous page", disabled: true });
  const next = el("button", { type: "button", id: "next-page", text: "Next page", disabled: true });

  const form = el("form", { className: "toolbar", role: "search", onsubmit: (event) => { event.preventDefault(); view.filter = filterInput.value.trim(); restart(); } },
    el("label", { for: "experiment" }, "Experiment", experimentSelect),
    el("label", { for: "filter" }, "Filter (search_runs syntax)", filterInput),
    el("button", { type: "submit", id: "apply-filter", text: "Apply" }),
    el("button", { type: "button", text: "Clear", onclick: () => { filterInput.value = ""; view.filter = ""; restart(); } }),
    compareButton);
  content.append(form, filterError, chooser, tableBox, el("div", { className: "pager" }, prev, pageInfo, next));

  function orderKey(column) {
    const dot = column.indexOf(".");
    const entity = column.slice(0, dot), key = column.slice(dot + 1);
    if (entity === "attributes") return column;
    return /^[A-Za-z_][\w.\-/]*$/.test(key) ? column : entity + ".`" + key + "`";
  }

  function saveUrl() {
    const query = new URLSearchParams();
    if (view.experiment) query.set("experiment_id", view.experiment);
    if (view.filter) query.set("filter", view.filter);
    if (view.order) query.set("order_by", view.order);
    history.replaceState(null, "", location.pathname + (query.toString() ? "?" + query : ""));
  }

  function columnsKey() { return "modelpack.ui.columns." + (view.experiment || "all"); }

  function defaultColumns() {
    return [...view.known.metrics.slice(0, 8).map((k) => "metrics." + k), ...view.known.params.slice(0, 8).map((k) => "params." + k)];
  }

  function buildChooser() {
    chooser.replaceChildren(el("summary", { text: "Columns (" + view.columns.length + " shown)" }));
    for (const entity of ["metrics", "params", "tags"]) {
      const keys = view.known[entity];
      if (!keys.length) continue;
      const list = el("div", { className: "col-list" });
      for (const key of keys) {
        const column = entity + "." + key;
        const id = "col-" + entity + "-" + key.replace(/[^\w-]/g, "_");
        const box = el("input", { type: "checkbox", id, checked: view.columns.includes(column), onchange: () => {
          view.columns = box.checked ? [...view.columns, column] : view.columns.filter((c) => c !== column);
          localStorage.setItem(columnsKey(), JSON.stringify(view.columns));
          load();
        } });
        list.append(el("label", { for: id }, box, " " + key));
      }
      chooser.append(el("fieldset", {}, el("legend", { text: entity }), list));
    }
  }

  function sortHeader(label, column) {
    const current = view.order.split(" ")[0] === orderKey(column) ? (view.order.endsWith("DESC") ? "descending" : "ascending") : "none";
    const arrow = current === "ascending" ? " ▲" : current === "descending" ? " ▼" : "";
    const button = el("button", { type: "button", className: "sort", "data-column": column, text: label + arrow, onclick: () => {
      view.order = orderKey(column) + (current === "ascending" ? " DESC" : " ASC");
      restart();
    } });
    const th = el("th", { scope: "col", "aria-sort": current }, button);
    return th;
  }

  function cell(run, column) {
    const dot = column.indexOf(".");
    const entity = column.slice(0, dot), key = column.slice(dot + 1);
    const value = (run[entity] || {})[key];
    if (entity === "metrics") return el("td", { className: "num", text: fmtNumber(value) });
    return el("td", { text: value === undefined ? "" : value });
  }

  function updateCompare() {
    compareButton.textContent = "Compare selected (" + view.selected.size + ")";
    compareButton.disabled = view.selected.size < 1;
  }
  compareButton.addEventListener("click", () => {
    location.href = MP.url("/compare", { run_ids: [...view.selected].join(",") });
  });

  function render(runs) {
    const columns = view.columns;
    const allBox = el("input", { type: "checkbox", id: "select-all", "aria-label": "Select all runs on this page", onchange: () => {
      for (const box of tableBox.querySelectorAll("input.pick")) { box.checked = allBox.checked; box.dispatchEvent(new Event("change")); }
    } });
    const headRow = el("tr", {}, el("th", { scope: "col" }, allBox), sortHeader("Run", "attributes.run_name"),
      sortHeader("Started", "attributes.start_time"), el("th", { scope: "col", text: "Duration" }), sortHeader("Status", "attributes.status"),
      sortHeader("User", "attributes.user_id"), columns.map((c) => sortHeader(c, c)));
    const rows = runs.map((run) => {
      const pick = el("input", { type: "checkbox", className: "pick", value: run.run_id, checked: view.selected.has(run.run_id),
        "aria-label": "Select run " + (run.run_name || run.run_id), onchange: () => {
          if (pick.checked) view.selected.add(run.run_id); else view.selected.delete(run.run_id);
          updateCompare();
        } });
      return el("tr", { "data-run-id": run.run_id }, el("td", {}, pick),
        el("td", {}, el("a", { href: MP.url("/runs/" + encodeURIComponent(run.run_id)), text: run.run_name || run.run_id })),
        el("td", { text: fmtTime(run.start_time) }), el("td", { className: "num", text: run.end_time ? fmtDuration(run.end_time - run.start_time) : "" }),
        el("td", { text: run.status }), el("td", { text: run.user_id || "" }), columns.map((c) => cell(run, c)));
    });
    tableBox.replaceChildren(el("div", { className: "table-wrap" },
      el("table", { id: "runs", "aria-label": "Runs" }, el("thead", {}, headRow), el("tbody", {}, rows))));
    if (!runs.length) tableBox.append(el("p", { className: "muted", text: "No runs match." }));
  }

  let sequence = 0;
  async function load() {
    const mine = ++sequence;
    saveUrl();
    status("Loading…");
    try {
      const data = await get("/ui/api/runs", { experiment_id: view.experiment, filter: view.filter, order_by: view.order,
        page_token: view.tokens[view.page], max_results: PAGE });
      if (mine !== sequence) return;
      filterError.textContent = "";
      view.known = data.columns;
      if (view.columns === null) {
        const saved = localStorage.getItem(columnsKey());
        view.columns = saved ? JSON.parse(saved) : defaultColumns();
      }
      buildChooser();
      view.tokens[view.page + 1] = data.next_page_token || null;
      render(data.runs);
      prev.disabled = view.page === 0;
      next.disabled = !data.next_page_token;
      pageInfo.textContent = "Page " + (view.page + 1) + " · runs " + (view.page * PAGE + 1) + "–" + (view.page * PAGE + data.runs.length);
      status("");
      document.body.dataset.ready = String(mine);
    } catch (e) {
      if (mine !== sequence) return;
      if (e.kind === "filter") { filterError.textContent = e.message; status(""); }
      else status(e.message, true);
      document.body.dataset.ready = String(mine);
    }
  }

  function restart() { view.page = 0; view.tokens = [""]; load(); }
  prev.addEventListener("click", () => { if (view.page > 0) { view.page -= 1; load(); } });
  next.addEventListener("click", () => { if (view.tokens[view.page + 1]) { view.page += 1; load(); } });
  experimentSelect.addEventListener("change", () => { view.experiment = experimentSelect.value; view.columns = null; view.selected.clear(); updateCompare(); restart(); });

  (async function start() {
    try {
      const data = await get("/ui/api/experiments");
      experimentSelect.append(el("option", { value: "", text: "All experiments" }));
      for (const exp of data.experiments) {
        experimentSelect.append(el("option", { value: exp.experiment_id, text: exp.name + " (" + exp.experiment_id + ")", selected: exp.experiment_id === view.experiment }));
      }
    } catch (e) { status(e.message, true); }
    load();
  })();
})();
