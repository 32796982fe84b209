/* One registered model: its versions with aliases, stages, tags and descriptions. */
"use strict";
(function () {
  const { el, get, status, fmtTime, table, params } = MP;
  const content = document.getElementById("content");
  const name = params.get("name") || "";

  async function load() {
    let data;
    try { data = await get("/ui/api/model", { name }); } catch (e) { status(e.message, true); return; }
    const model = data.model;
    document.getElementById("title").textContent = "Model " + model.name;
    document.title = "Model " + model.name + " · modelpack";
    const aliasRows = Object.entries(model.aliases).map(([alias, v]) => el("tr", {}, el("td", { text: alias }),
      el("td", {}, el("a", { href: MP.url("/version", { name, version: v }), text: "v" + v })), el("td", { className: "alias-action" })));
    const versionRows = data.versions.map((v) => el("tr", { "data-version": v.version },
      el("td", {}, el("a", { href: MP.url("/version", { name, version: v.version }), text: "v" + v.version })),
      el("td", { text: v.stage }), el("td", { text: v.aliases.join(", ") }),
      el("td", { text: Object.entries(v.tags).map(([k, t]) => k + "=" + t).join(", ") }),
      el("td", { text: v.description || "" }),
      el("td", {}, v.run_id ? el("a", { href: MP.url("/runs/" + encodeURIComponent(v.run_id)), text: v.run_id.slice(0, 8) }) : ""),
      el("td", { text: fmtTime(v.created) })));
    const versions = data.versions.map((v) => v.version);
    const pickA = el("select", { id: "diff-a" }, versions.map((v, i) => el("option", { value: v, text: "v" + v, selected: i === 1 })));
    const pickB = el("select", { id: "diff-b" }, versions.map((v, i) => el("option", { value: v, text: "v" + v, selected: i === 0 })));
    const diffForm = el("form", { className: "toolbar", id: "diff-form", onsubmit: (e) => { e.preventDefault(); location.href = MP.url("/diff", { name, a: pickA.value, b: pickB.value }); } },
      el("label", { for: "diff-a" }, "Version A", pickA), el("label", { for: "diff-b" }, "Version B", pickB), el("button", { type: "submit", text: "Compare versions" }));
    const actions = el("div", { className: "actions", id: "model-actions" });
    content.replaceChildren(
      MP.facts([["Description", model.description || "—"], ["Tags", Object.entries(model.tags).map(([k, t]) => k + "=" + t).join(", ")], ["Updated", fmtTime(model.updated)]]),
      el("h2", { text: "Aliases" }), aliasRows.length ? table(["Alias", "Version", ""], aliasRows, { id: "aliases", "aria-label": "Aliases" }) : el("p", { className: "muted", text: "No aliases." }),
      el("h2", { text: "Versions" }), table(["Version", "Stage", "Aliases", "Tags", "Description", "Run", "Created"], versionRows, { id: "versions", "aria-label": "Versions" }),
      versions.length > 1 ? diffForm : "", el("h2", { text: "Change" }), actions);
    MPActions.gate(actions, (box) => box.append(MPActions.descriptionForm(name, null, model.description, load)));
    MP.ready.then(() => {
      const render = () => {
        for (const [i, cell] of [...document.querySelectorAll("#aliases td.alias-action")].entries()) {
          cell.replaceChildren();
          if (MP.state.canWrite) cell.append(MPActions.deleteAliasButton(name, Object.keys(model.aliases)[i], load));
        }
      };
      render();
      document.addEventListener("mp-session", render);
    });
    status("");
    document.body.dataset.ready = String(Date.now());
  }
  load();
})();
