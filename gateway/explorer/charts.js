// Small SVG charts drawn by hand (no library, nothing fetched): lines with a legend, and
// stacked bars. Values are numbers; labels are text nodes, never markup.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 520, H = 190, L = 46, R = 10, T = 12, B = 34;
  const COLORS = ["#2f6fde", "#e0773a", "#2ca25f", "#b84fd0", "#d43d51", "#8c8c2b", "#17a2b8", "#6c757d"];

  function svg(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }

  function fmt(v) {
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + "k";
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(Math.abs(v) < 1 ? 2 : 1);
  }

  function frame(title, xs, yMax, xLabel) {
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
    root.appendChild(svg("title", {}, title));
    const plotH = H - T - B;
    for (let i = 0; i <= 4; i++) {
      const y = T + plotH - (plotH * i) / 4;
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
      root.appendChild(svg("text", { x: L - 4, y: y + 3, class: "tick", "text-anchor": "end" }, fmt((yMax * i) / 4)));
    }
    if (xs.length) {
      const step = Math.max(1, Math.ceil(xs.length / 6));
      for (let i = 0; i < xs.length; i += step) {
        const x = L + ((W - L - R) * i) / Math.max(1, xs.length - 1);
        root.appendChild(svg("text", { x, y: H - B + 14, class: "tick", "text-anchor": "middle" }, xs[i]));
      }
    }
    root.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 4, class: "axis", "text-anchor": "middle" }, xLabel));
    return root;
  }

  function empty(container, message) {
    const p = document.createElement("p");
    p.className = "muted chart-empty";
    p.textContent = message;
    container.appendChild(p);
  }

  // series: [{name, values: [number|null per x]}]
  function line(container, { title, xs, series, xLabel, yMax, emptyText }) {
    container.textContent = "";
    const h = document.createElement("h3");
    h.textContent = title;
    container.appendChild(h);
    if (!xs.length || !series.length) return empty(container, emptyText || "no data yet");
    let max = yMax || 0;
    for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
    if (max <= 0) max = 1;
    const root = frame(title, xs, max, xLabel);
    const plotW = W - L - R, plotH = H - T - B;
    series.forEach((s, si) => {
      const pts = [];
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const x = L + (xs.length > 1 ? (plotW * i) / (xs.length - 1) : plotW / 2);
        pts.push(`${x.toFixed(1)},${(T + plotH - (plotH * v) / max).toFixed(1)}`);
      });
      const color = COLORS[si % COLORS.length];
      if (pts.length === 1) {
        const [x, y] = pts[0].split(",");
        root.appendChild(svg("circle", { cx: x, cy: y, r: 3, fill: color }));
      } else if (pts.length) {
        root.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
      }
    });
    container.appendChild(root);
    legend(container, series.map((s) => s.name));
  }

  // stacks: [{name, values: [number per x]}], drawn bottom-up
  function bars(container, { title, xs, stacks, xLabel, emptyText }) {
    container.textContent = "";
    const h = document.createElement("h3");
    h.textContent = title;
    container.appendChild(h);
    if (!xs.length) return empty(container, emptyText || "no data yet");
    const totals = xs.map((_, i) => stacks.reduce((a, s) => a + (s.values[i] || 0), 0));
    const max = Math.max(1, ...totals);
    const root = frame(title, xs, max, xLabel);
    const plotW = W - L - R, plotH = H - T - B;
    const bw = Math.max(2, (plotW / xs.length) * 0.7);
    xs.forEach((_, i) => {
      let base = 0;
      const cx = L + (xs.length > 1 ? (plotW * i) / (xs.length - 1) : plotW / 2);
      stacks.forEach((s, si) => {
        const v = s.values[i] || 0;
        if (!v) return;
        const y = T + plotH - (plotH * (base + v)) / max;
        root.appendChild(svg("rect", { x: (cx - bw / 2).toFixed(1), y: y.toFixed(1), width: bw.toFixed(1),
                                       height: ((plotH * v) / max).toFixed(1), fill: COLORS[si % COLORS.length] }));
        base += v;
      });
    });
    container.appendChild(root);
    legend(container, stacks.map((s) => s.name));
  }

  function legend(container, names) {
    const ul = document.createElement("ul");
    ul.className = "legend";
    names.forEach((n, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.dataset.color = String(i % COLORS.length);
      li.appendChild(sw);
      li.appendChild(document.createTextNode(n));
      ul.appendChild(li);
    });
    container.appendChild(ul);
  }

  return { line, bars, COLORS };
})();
