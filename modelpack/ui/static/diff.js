/* Two versions of a model side by side, differences first. */
"use strict";
(function () {
  const { el, get, status, table, params } = MP;
  const content = document.getElementById("content");
  const name = params.get("name") || "";

  (async function start() {
    let data;
    try { data = await get("/ui/api/diff", { name, a: params.get("a"), b: params.get("b") }); } catch (e) { status(e.message, true); return; }
    document.getElementById("title").textContent = name + ": v" + data.a + " vs v" + data.b;
    const only = el("input", { type: "checkbox", id: "only-changed", checked: true });
    const box = el("div", { id: "diff-table" });
    function render() {
      const rows = data.rows.filter((r) => r.changed || !only.checked).sort((x, y) => Number(y.changed) - Number(x.changed))
        .map((r) => el("tr", { className: r.changed ? "diff" : null, "data-changed": String(r.changed) },
          el("th", { scope: "row", text: r.key }), el("td", { text: r.a ?? "—" }), el("td", { text: r.b ?? "—" })));
      box.replaceChildren(rows.length ? table(["", "v" + data.a, "v" + data.b], rows, { "aria-label": "Differences" }) : el("p", { className: "muted", text: "No differences." }));
    }
    only.addEventListener("change", render);
    content.append(el("p", {}, el("a", { href: MP.url("/model", { name }), text: "Back to " + name })),
      el("label", { for: "only-changed" }, only, " Only what changed"), box);
    render();
    status("");
    document.body.dataset.ready = "1";
  })();
})();
