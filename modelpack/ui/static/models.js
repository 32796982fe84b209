/* Registered models: name, latest version, aliases, stages, description; 100 at a time. */
"use strict";
(function () {
  const { el, get, status, fmtTime, table } = MP;
  const content = document.getElementById("content");
  const filterInput = el("input", { type: "search", id: "model-filter", placeholder: "name LIKE 'taxi%'", "aria-describedby": "model-filter-error" });
  const filterError = el("div", { id: "model-filter-error", className: "error" });
  const box = el("div", { id: "models-table" });
  const more = el("button", { type: "button", id: "more-models", text: "Show more models", onclick: () => load(true) });
  const pager = el("div", { className: "pager" }, more);
  pager.style.display = "none";
  let token = null;  // the next page of the current filter, if any
  content.append(el("form", { className: "toolbar", role: "search", onsubmit: (e) => { e.preventDefault(); load(); } },
    el("label", { for: "model-filter" }, "Filter", filterInput), el("button", { type: "submit", text: "Apply" })), filterError, box,
    pager);

  function chips(mapping) {
    return el("span", { className: "chips" }, Object.entries(mapping).map(([k, v]) => el("span", { text: k + " → v" + v })));
  }

  async function load(append) {
    status("Loading…");
    let data;
    try { data = await get("/ui/api/models", { filter: filterInput.value.trim(), page_token: append ? token : "" }); filterError.textContent = ""; }
    catch (e) { if (e.kind === "filter") { filterError.textContent = e.message; status(""); } else status(e.message, true); return; }
    const rows = data.models.map((m) => el("tr", {},
      el("td", {}, el("a", { href: MP.url("/model", { name: m.name }), text: m.name })),
      el("td", { className: "num", text: m.latest_version ?? "" }), el("td", {}, chips(m.aliases)), el("td", {}, chips(m.stages)),
      el("td", { text: m.description || "" }), el("td", { text: fmtTime(m.updated) })));
    const shown = document.querySelector("#models tbody");
    if (append && shown) shown.append(...rows);
    else box.replaceChildren(rows.length ? table(["Model", "Latest", "Aliases", "Stages", "Description", "Updated"], rows, { id: "models", "aria-label": "Registered models" })
      : el("p", { className: "muted", text: "No registered models." }));
    token = data.next_page_token || null;
    pager.style.display = token ? "" : "none";  // no empty row under the table
    status("");
    document.body.dataset.ready = "1";
  }
  load();
})();
