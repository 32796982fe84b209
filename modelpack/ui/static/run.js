/* One run: facts, params, metrics with history charts, tags, logged models, artifacts. */
"use strict";
(function () {
  const { el, get, status, facts, keyValueTable, snippet, fmtTime, fmtDuration, fmtBytes, fmtNumber } = MP;
  const { draw } = MPCharts;
  const content = document.getElementById("content");
  const runId = decodeURIComponent(location.pathname.split("/").pop());

  function historyChart(run, section) {
    const keys = Object.keys(run.metrics).sort();
    if (!keys.length) return;
    const metricSelect = el("select", { id: "run-metric" }, keys.map((k) => el("option", { value: k, text: k })));
    const axisSelect = el("select", { id: "run-axis" }, el("option", { value: "step", text: "Step" }), el("option", { value: "time", text: "Time" }));
    const box = el("div", { id: "run-history-chart", className: "chart", role: "img", "aria-label": "History of the chosen metric" });
    section.append(el("div", { className: "toolbar" }, el("label", { for: "run-metric" }, "Metric history", metricSelect),
      el("label", { for: "run-axis" }, "X axis", axisSelect)), box);
    async function render() {
      const data = await get("/ui/api/metric-history", { key: metricSelect.value, run_ids: runId });
      const points = data.histories[runId] || [];
      const time = axisSelect.value === "time";
      draw(box, {
        tooltip: { trigger: "axis" },
        xAxis: { type: time ? "time" : "value", name: axisSelect.value, nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "value", name: metricSelect.value, scale: true },
        series: [{ type: "line", name: metricSelect.value, data: points.map((p) => [time ? p[1] : p[0], p[2]]) }],
      });
      box.dataset.drawn = metricSelect.value + ":" + axisSelect.value;
    }
    metricSelect.addEventListener("change", render);
    axisSelect.addEventListener("change", render);
    return render();
  }

  function artifactBrowser(section) {
    const tree = el("ul", { id: "artifact-list", "aria-label": "Artifacts" });
    const crumbs = el("div", { id: "artifact-path", className: "muted" });
    const preview = el("div", { id: "artifact-preview", className: "preview", "aria-live": "polite" });
    section.append(el("div", { className: "artifacts" }, el("div", {}, crumbs, tree), preview));

    function fileUrl(path, download) { return MP.url("/ui/api/runs/" + encodeURIComponent(runId) + "/artifact", { path, download: download ? "1" : "" }); }

    async function open(path) {
      crumbs.replaceChildren("/" + path);
      let data;
      try { data = await get("/ui/api/runs/" + encodeURIComponent(runId) + "/artifacts", { path }); }
      catch (e) { tree.replaceChildren(el("li", { className: "error", text: e.message })); return; }
      const items = [];
      if (path) items.push(el("li", {}, el("button", { type: "button", text: "⬑ ..", "aria-label": "Up one folder", onclick: () => open(path.split("/").slice(0, -1).join("/")) })));
      for (const f of data.files) {
        items.push(el("li", {}, el("button", { type: "button", "data-path": f.path, text: (f.is_dir ? "📁 " : "") + f.name + (f.is_dir ? "/" : ""),
          onclick: () => (f.is_dir ? open(f.path) : show(f)) }), f.is_dir ? null : el("span", { className: "muted", text: " " + fmtBytes(f.size) })));
      }
      if (!data.files.length) items.push(el("li", { className: "muted", text: "No artifacts." }));
      tree.replaceChildren(...items);
    }

    async function show(file) {
      const download = el("a", { href: fileUrl(file.path, true), download: file.name, text: "Download " + file.name });
      preview.replaceChildren(el("h3", { text: file.path }), download);
      if (file.preview === "image") {
        preview.append(el("div", {}, el("img", { src: fileUrl(file.path, false), alt: "Artifact " + file.path })));
      } else if (file.preview === "text" || file.preview === "json") {
        if (file.size > 512 * 1024) { preview.append(el("p", { className: "muted", text: "Too large to preview; download it." })); return; }
        const response = await fetch(fileUrl(file.path, false), { credentials: "same-origin" });
        let text = await response.text();
        if (file.preview === "json") { try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* show as is */ } }
        preview.append(el("pre", { id: "artifact-text" }, el("code", { text })));
      } else {
        preview.append(el("p", { className: "muted", text: "No preview for this kind of file." }));
      }
      preview.dataset.shown = file.path;
    }

    return open("");
  }

  (async function start() {
    let run;
    try { run = await get("/ui/api/runs/" + encodeURIComponent(runId)); }
    catch (e) { status(e.message, true); return; }
    const title = document.getElementById("title");
    title.textContent = "Run " + (run.run_name || run.run_id);
    document.title = title.textContent + " · modelpack";
    const sys = run.system;
    const expLink = el("a", { href: MP.url("/", { experiment_id: run.experiment_id }), text: (run.experiment_name || "") + " (" + run.experiment_id + ")" });
    const sections = {};
    for (const [id, label] of [["facts", "Overview"], ["params", "Parameters"], ["metrics", "Metrics"], ["tags", "Tags"], ["models", "Logged models"], ["artifacts", "Artifacts"]]) {
      sections[id] = el("section", { id: "section-" + id, "aria-labelledby": "h-" + id }, el("h2", { id: "h-" + id, text: label }));
      content.append(sections[id]);
    }
    sections.facts.append(facts([["Run id", run.run_id], ["Experiment", expLink], ["Status", run.status], ["User", sys.user],
      ["Started", fmtTime(sys.start_time)], ["Ended", fmtTime(sys.end_time)], ["Duration", fmtDuration(sys.duration_ms)],
      ["Source", sys.source], ["Source type", sys.source_type], ["Git commit", sys.git_commit], ["Artifact location", sys.artifact_uri],
      ["Lifecycle", sys.lifecycle_stage], ["Description", run.description]]));
    sections.params.append(keyValueTable("Parameters", run.params));
    sections.metrics.append(keyValueTable("Metrics", run.metrics, true));
    const userTags = Object.fromEntries(Object.entries(run.tags).filter(([k]) => !k.startsWith("mlflow.")));
    sections.tags.append(keyValueTable("Tags", userTags));
    if (!run.logged_models.length) sections.models.append(el("p", { className: "muted", text: "No models logged in this run." }));
    for (const m of run.logged_models) {
      const uri = "runs:/" + run.run_id + "/" + m.artifact_path;
      sections.models.append(el("h3", { text: m.artifact_path + " (" + m.flavors.join(", ") + ")" }),
        snippet("Load " + m.artifact_path, "import modelpack\n\nmodel = modelpack.load_model(" + JSON.stringify(uri) + ")"));
    }
    try {
      await Promise.all([historyChart(run, sections.metrics), artifactBrowser(sections.artifacts)]);
    } catch (e) { status(e.message, true); }
    status("");
    document.body.dataset.ready = "1";
  })();
})();
