/* Registry write actions (alias, stage, description), shown only to a signed-in user. */
"use strict";
(function () {
  const { el, post, status } = MP;

  function gate(container, build) {
    function render() {
      container.replaceChildren();
      if (!MP.state.writable) { container.append(el("p", { className: "muted", text: "Read-only: start modelpack ui with --auth-token-file to change aliases, stages and descriptions." })); return; }
      if (!MP.state.signedIn) { container.append(el("p", { className: "muted", text: "Sign in with the token (top right) to change aliases, stages and descriptions." })); return; }
      if (!MP.state.canWrite) { container.append(el("p", { className: "muted", text: "Signed in with a read-only token: changes need a full token." })); return; }
      build(container);
    }
    document.addEventListener("mp-session", render);
    MP.ready.then(render);
  }

  async function act(action, body, done) {
    try { await post("/ui/api/actions/" + action, body); if (done) await done(); status("Saved."); }
    catch (e) { status(e.message, true); }
  }

  function aliasForm(name, version, done) {
    const input = el("input", { id: "alias-name", required: true, pattern: "[A-Za-z0-9_\\-]+", autocomplete: "off" });
    return el("form", { id: "alias-form", onsubmit: (e) => { e.preventDefault(); act("set-alias", { name, version, alias: input.value.trim() }, done); } },
      el("label", { for: "alias-name" }, "Set or move alias to v" + version + " ", input), el("button", { type: "submit", className: "primary", text: "Set alias" }));
  }

  function stageForm(name, version, stages, current, done) {
    const select = el("select", { id: "stage-select" }, stages.map((s) => el("option", { value: s, text: s, selected: s === current })));
    const archive = el("input", { type: "checkbox", id: "archive-existing" });
    return el("form", { id: "stage-form", onsubmit: (e) => { e.preventDefault(); act("transition-stage", { name, version, stage: select.value, archive_existing: archive.checked }, done); } },
      el("label", { for: "stage-select" }, "Stage ", select), el("label", { for: "archive-existing" }, archive, " Archive the versions now in that stage"),
      el("button", { type: "submit", text: "Transition" }));
  }

  function descriptionForm(name, version, current, done) {
    const area = el("textarea", { id: "description-text", rows: 3, cols: 60 });
    area.value = current || "";
    return el("form", { id: "description-form", onsubmit: (e) => { e.preventDefault(); act("set-description", { name, version, description: area.value }, done); } },
      el("label", { for: "description-text" }, (version ? "Version" : "Model") + " description", area), el("button", { type: "submit", text: "Save description" }));
  }

  function deleteAliasButton(name, alias, done) {
    return el("button", { type: "button", "aria-label": "Remove alias " + alias, text: "Remove", onclick: () => act("delete-alias", { name, alias }, done) });
  }

  window.MPActions = { gate, aliasForm, stageForm, descriptionForm, deleteAliasButton };
})();
