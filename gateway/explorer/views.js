// DOM building for the explorer: every value from the chain goes in as text (textContent),
// never as markup, and every hash, address, block and task links to its own view.
"use strict";

const V = (() => {
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k.startsWith("data-")) n.setAttribute(k, String(v));
      else if (k === "href" || k === "title" || k === "id") n.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      n.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  const short = (s, n = 10) => (typeof s === "string" && s.length > n + 4 ? s.slice(0, n) + "…" : String(s ?? ""));
  const link = (text, href, title) => el("a", { href, title }, text);
  const block = (h) => link(String(h), `#/block/${h}`);
  const hash = (hx, kind = "tx") => (hx ? link(short(hx, 12), `#/${kind}/${hx}`, hx) : el("span", { class: "muted" }, "—"));
  const addr = (a, names) => {
    if (!a) return el("span", { class: "muted" }, "—");
    const name = names && names.get(a);
    return link(name ? `${name} (${short(a, 10)})` : short(a, 14), `#/account/${a}`, a);
  };
  const task = (id) => link(`#${id}`, `#/task/${id}`);
  const share = (u16) => (u16 === undefined || u16 === null ? "—" : (u16 / 65535).toFixed(3));
  const amount = (s) => (s === undefined || s === null ? "—" : String(s).replace(/\B(?=(\d{3})+(?!\d))/g, ","));
  const when = (ms) => (ms ? new Date(ms).toLocaleTimeString() : "—");

  function table(headers, rows, attrs) {
    return el("table", attrs || {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.length ? rows : [el("tr", {}, el("td", { class: "muted" }, "none yet"))]));
  }
  const row = (attrs, cells) => el("tr", attrs, cells.map((c) => el("td", {}, c)));

  function section(title, ...body) {
    return el("section", { class: "card" }, el("h2", {}, title), ...body);
  }

  // A key/value list for detail views.
  function fields(pairs) {
    return el("dl", { class: "fields" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")]));
  }

  function pre(value, attrs) {
    return el("pre", attrs || {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  }

  function statusTag(s) {
    return el("span", { class: `tag ${s}` }, s);
  }

  return { el, short, link, block, hash, addr, task, share, amount, when, table, row, section, fields, pre, statusTag };
})();
