/* Shared helpers of every page. Data from the server only ever reaches the DOM as text
   (textContent, text nodes, attribute values), never as HTML. */
"use strict";
(function () {
  const root = document.body.dataset.root || "";
  const state = { csrf: null, writable: false, signedIn: false, canWrite: false, private: false };

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "checked" || key === "value" || key === "disabled" || key === "selected") node[key] = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(message, status, kind) { super(message); this.status = status; this.kind = kind; }
  }

  function url(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") query.set(key, value);
    }
    const text = query.toString();
    return root + path + (text ? "?" + text : "");
  }

  async function answer(response) {
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const message = body && body.error ? body.error : "HTTP " + response.status;
      throw new ApiError(message, response.status, body && body.kind);
    }
    return body;
  }

  async function get(path, params) {
    return answer(await fetch(url(path, params), { headers: { Accept: "application/json" }, credentials: "same-origin" }));
  }

  async function post(path, body) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
    return answer(await fetch(url(path), { method: "POST", headers, body: JSON.stringify(body || {}), credentials: "same-origin" }));
  }

  function status(message, isError) {
    const box = document.getElementById("status");
    box.replaceChildren();
    if (message) box.append(el("p", { className: isError ? "error" : "muted", text: message, role: isError ? "alert" : null }));
  }

  function fmtNumber(value) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(4) : String(+value.toPrecision(6));
  }
  function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : ""; }
  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return "";
    if (ms < 1000) return ms + " ms";
    const s = ms / 1000;
    if (s < 120) return s.toFixed(1) + " s";
    return (s / 60).toFixed(1) + " min";
  }
  function fmtBytes(n) {
    if (n === null || n === undefined) return "";
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  function table(headers, rows, options) {
    const head = el("tr", {}, headers.map((h) => (h instanceof Node ? el("th", { scope: "col" }, h) : el("th", { scope: "col", text: h }))));
    const body = el("tbody", {}, rows);
    return el("div", { className: "table-wrap" }, el("table", options || {}, el("thead", {}, head), body));
  }

  function facts(pairs) {
    const list = el("dl", { className: "facts" });
    for (const [key, value] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      list.append(el("dt", { text: key }), el("dd", {}, value instanceof Node ? value : String(value)));
    }
    return list;
  }

  function keyValueTable(title, values, numeric) {
    const keys = Object.keys(values || {}).sort();
    if (!keys.length) return el("p", { className: "muted", text: "No " + title.toLowerCase() + "." });
    return table(["Name", "Value"], keys.map((k) => el("tr", {}, el("td", { text: k }),
      el("td", { className: numeric ? "num" : null, text: numeric ? fmtNumber(values[k]) : values[k] }))), { "aria-label": title });
  }

  function snippet(label, code) {
    const pre = el("pre", {}, el("code", { text: code }));
    const copy = el("button", { type: "button", "aria-label": "Copy " + label + " snippet", text: "Copy",
      onclick: async () => {
        try { await navigator.clipboard.writeText(code); copy.textContent = "Copied"; }
        catch (e) { const range = document.createRange(); range.selectNodeContents(pre); getSelection().removeAllRanges(); getSelection().addRange(range); copy.textContent = "Selected: press Ctrl+C"; }
      } });
    return el("div", { className: "snippet" }, el("h3", { text: label }), pre, copy);
  }

  async function refreshSession() {
    const box = document.getElementById("session");
    try {
      const s = await get("/ui/api/session");
      state.writable = s.writable; state.signedIn = s.signed_in; state.csrf = s.csrf;
      state.canWrite = s.can_write; state.private = s.private;
    } catch (e) { state.writable = false; }
    box.replaceChildren();
    if (!state.writable && !state.private) { box.append(el("span", { className: "muted", text: "Read-only" })); return; }
    if (state.signedIn) {
      box.append(el("span", { className: "muted", text: state.canWrite ? "Signed in " : "Signed in (read-only) " }),
        el("button", { type: "button", text: "Sign out", onclick: async () => { await post("/ui/api/logout"); await refreshSession(); document.dispatchEvent(new Event("mp-session")); } }));
      return;
    }
    const input = el("input", { type: "password", id: "token-input", autocomplete: "current-password", "aria-label": "Token" });
    const form = el("form", { className: "login", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await post("/ui/api/login", { token: input.value });
        if (state.private) { location.reload(); return; }
        await refreshSession(); document.dispatchEvent(new Event("mp-session"));
      }
      catch (e) { status(e.message, true); }
    } }, el("label", { for: "token-input", text: "Token " }), input, el("button", { type: "submit", text: "Sign in" }));
    box.append(form);
  }

  for (const link of document.querySelectorAll("header nav a[data-nav]")) {
    const page = document.body.dataset.page;
    const section = ["models", "model", "version", "diff"].includes(page) ? "models" : "runs";
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
  }
  const ready = refreshSession();

  window.MP = { root, state, el, get, post, url, status, table, facts, keyValueTable, snippet, fmtNumber, fmtTime, fmtDuration, fmtBytes, ready, ApiError, params: new URLSearchParams(location.search) };
})();
