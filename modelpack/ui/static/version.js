/* A model version's card: flavors, signature, example, preprocessor, requirements, files,
   source run, snippets; and the alias, stage and description actions. */
"use strict";
(function () {
  const { el, get, status, facts, fmtTime, fmtBytes, fmtNumber, table, snippet, params } = MP;
  const content = document.getElementById("content");
  const name = params.get("name") || "";
  const version = params.get("version") || "";

  function pre(id, text) { return el("pre", { id }, el("code", { text })); }

  function signature(sig) {
    if (!sig) return el("p", { className: "muted", text: "No signature." });
    const parts = [];
    for (const key of ["inputs", "outputs", "params"]) {
      if (!sig[key]) continue;
      let cols;
      try { cols = JSON.parse(sig[key]); } catch (e) { cols = null; }
      if (!Array.isArray(cols)) { parts.push(el("h3", { text: key }), pre("sig-" + key, String(sig[key]))); continue; }
      parts.push(el("h3", { text: key }), table(["Name", "Type", "Shape / required"], cols.map((c) => el("tr", {},
        el("td", { text: c.name ?? "" }), el("td", { text: c.type === "tensor" ? "tensor " + ((c["tensor-spec"] || {}).dtype || "") : c.type || "" }),
        el("td", { text: c.type === "tensor" ? JSON.stringify((c["tensor-spec"] || {}).shape || "") : (c.required === false ? "optional" : "required") }))), { "aria-label": "Signature " + key }));
    }
    return el("div", { id: "signature" }, parts);
  }

  async function load() {
    let card;
    try { card = await get("/ui/api/version", { name, version }); } catch (e) { status(e.message, true); return; }
    const v = card.version;
    const title = document.getElementById("title");
    title.textContent = name + " v" + v.version;
    document.title = title.textContent + " · modelpack";
    const modelLink = el("a", { href: MP.url("/model", { name }), text: name });
    const runLink = v.run_id ? el("a", { href: MP.url("/runs/" + encodeURIComponent(v.run_id)), text: v.run_id }) : null;
    const nodes = [facts([["Model", modelLink], ["Version", String(v.version)], ["Stage", v.stage], ["Aliases", v.aliases.join(", ") || "—"],
      ["Description", v.description || "—"], ["Tags", Object.entries(v.tags).map(([k, t]) => k + "=" + t).join(", ")], ["Source run", runLink],
      ["Source", v.source], ["Created", fmtTime(v.created)], ["Updated", fmtTime(v.last_updated)], ["Registered by", v.user_id]])];
    const actions = el("div", { className: "actions", id: "version-actions" });
    nodes.push(el("h2", { text: "Change" }), actions);
    if (card.problem) nodes.push(el("p", { className: "error", text: card.problem }));
    const m = card.model;
    if (m) {
      nodes.push(el("h2", { text: "Flavors" }), table(["Flavor", "Details"], Object.entries(m.flavors).map(([f, conf]) => el("tr", {},
        el("td", { text: f }), el("td", {}, el("code", { text: Object.entries(conf).map(([k, x]) => k + ": " + (typeof x === "object" ? JSON.stringify(x) : x)).join("; ") })))), { id: "flavors", "aria-label": "Flavors" }));
      nodes.push(el("h2", { text: "Signature" }), signature(m.signature));
      nodes.push(el("h2", { text: "Input example" }), m.input_example ? pre("input-example", m.input_example) : el("p", { className: "muted", text: "None saved." }));
      nodes.push(el("h2", { text: "Preprocessor" }), m.preprocessor ? facts(Object.entries(m.preprocessor)) : el("p", { className: "muted", text: "None bundled." }));
      nodes.push(el("h2", { text: "Requirements" }), m.requirements ? pre("requirements", m.requirements) : el("p", { className: "muted", text: "None recorded." }));
      nodes.push(el("h2", { text: "Files (" + fmtBytes(m.total_size) + ")" }), table(["File", "Size", "Digest"], m.files.map((f) => el("tr", {},
        el("td", { text: f.path }), el("td", { className: "num", text: fmtBytes(f.size) }), el("td", {}, el("code", { text: f.digest || "—" })))), { id: "files", "aria-label": "Files" }));
    }
    if (card.run && !card.run.missing) {
      nodes.push(el("h2", { text: "Source run" }), el("div", { className: "grid2" },
        el("div", {}, el("h3", { text: "Parameters" }), MP.keyValueTable("Parameters", card.run.params)),
        el("div", {}, el("h3", { text: "Metrics" }), MP.keyValueTable("Metrics", card.run.metrics, true))));
    }
    nodes.push(el("h2", { text: "Use it" }), el("div", { id: "snippets" }, snippet("Load in Python", card.snippets.load),
      snippet("Serve over HTTP", card.snippets.serve), snippet("Batch-score a file", card.snippets.batch), snippet("Pack for offline install", card.snippets.pack)));
    content.replaceChildren(...nodes);
    MPActions.gate(actions, (box) => box.append(
      MPActions.aliasForm(name, v.version, load), MPActions.stageForm(name, v.version, ["None", "Staging", "Production", "Archived"], v.stage, load),
      MPActions.descriptionForm(name, v.version, v.description, load)));
    status("");
    document.body.dataset.ready = String(Date.now());
  }
  load();
})();
