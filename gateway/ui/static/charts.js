// Charts on uPlot (canvas, fast at tens of thousands of points): metric histories against step,
// wall time or relative time, with smoothing, log scale and zoom; a scatter; parallel coordinates.
import uPlot from "./vendor/uPlot.esm.js";
import { h } from "./dom.js";

export const PALETTE = ["#2f6fdd", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599",
  "#e67700", "#5c940d", "#a61e4d", "#364fc7"];

function themeColors() {
  const style = getComputedStyle(document.documentElement);
  return { fg: style.getPropertyValue("--fg").trim(), line: style.getPropertyValue("--line").trim() };
}

function axis(colors, extra = {}) {
  return { stroke: colors.fg, grid: { stroke: colors.line, width: 1 }, ticks: { stroke: colors.line }, ...extra };
}

// Exponential moving average with TensorBoard's debiasing: the first points are not pulled
// towards zero; gaps (null) stay gaps.
export function smooth(values, weight) {
  if (!weight) return values;
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null || v === undefined) return v;
    last = last * weight + (1 - weight) * v;
    count += 1;
    return last / (1 - weight ** count);
  });
}

function xOf(series, mode) {
  if (mode === "wall") return series.timestamps.map((t) => t / 1000);
  if (mode === "relative") {
    const start = series.start ?? Math.min(...series.timestamps.slice(0, 1000));
    return series.timestamps.map((t) => (t - start) / 1000);
  }
  return series.steps;
}

// One metric of one or more runs: `series` = [{label, steps, timestamps, values, start}].
// Returns the uPlot (its element is `plot.root`); `onZoom(min, max)` after a drag-zoom on steps.
export function lineChart(el, series, { x = "step", smoothing = 0, log = false, width, height = 260, onZoom } = {}) {
  const colors = themeColors();
  const tables = series.map((s) => {
    const xs = xOf(s, x);
    const order = xs.map((_, i) => i);
    if (x !== "step") order.sort((a, b) => xs[a] - xs[b]);
    const sortedX = order.map((i) => xs[i]);
    let ys = smooth(order.map((i) => s.values[i]), smoothing);
    if (log) ys = ys.map((v) => (v !== null && v > 0 ? v : null));
    return [sortedX, ys];
  });
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  const opts = {
    width: width || Math.max(320, el.clientWidth || 460),
    height,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: x === "wall" }, y: log ? { distr: 3 } : {} },
    axes: [axis(colors, { label: { step: "step", wall: "", relative: "seconds" }[x] }), axis(colors)],
    series: [{ label: x }, ...series.map((s, i) => ({
      label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
      // dots where there are few points: a single value is no line
      points: { show: s.steps.length <= 60, size: 5, fill: PALETTE[i % PALETTE.length] },
    }))],
    hooks: onZoom ? { setSelect: [(u) => {
      if (u.select.width < 2) return;
      const min = u.posToVal(u.select.left, "x");
      const max = u.posToVal(u.select.left + u.select.width, "x");
      onZoom(Math.floor(min), Math.ceil(max));
    }] } : {},
  };
  return new uPlot(opts, data, el);
}

// A scatter of points [{x, y, label}] (x may be text: then one position per distinct value).
export function scatter(el, points, { xLabel, yLabel, height = 300 } = {}) {
  const colors = themeColors();
  const categorical = points.some((p) => typeof p.x !== "number");
  const categories = categorical ? [...new Set(points.map((p) => String(p.x)))].sort() : [];
  const xs = points.map((p) => (categorical ? categories.indexOf(String(p.x)) : p.x));
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const data = [order.map((i) => xs[i]), order.map((i) => points[i].y)];
  return new uPlot({
    width: Math.max(320, el.clientWidth || 460), height,
    cursor: { drag: { x: true, y: true } },
    scales: { x: { time: false } },
    axes: [axis(colors, { label: xLabel, values: categorical ? (_, ticks) => ticks.map((t) => categories[t] ?? "") : undefined }),
      axis(colors, { label: yLabel })],
    series: [{ label: xLabel }, { label: yLabel, stroke: PALETTE[0], paths: () => null,
      points: { show: true, size: 8, fill: PALETTE[0] } }],
  }, data, el);
}

// Parallel coordinates in SVG: one vertical axis per dimension, one line per run coloured by
// its value of the last dimension (the chosen metric). rows = [{label, values: [...]}].
export function parallelCoordinates(dimensions, rows, { width = 900, height = 320 } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", "100%");
  const pad = { top: 24, bottom: 24, side: 60 };
  const step = (width - 2 * pad.side) / Math.max(1, dimensions.length - 1);
  const scales = dimensions.map((_, d) => {
    const values = rows.map((r) => r.values[d]).filter((v) => v !== undefined && v !== null);
    const numeric = values.every((v) => typeof v === "number");
    if (numeric) {
      const min = Math.min(...values);
      const max = Math.max(...values);
      return { ticks: [min, max], y: (v) => pad.top + (1 - (max === min ? 0.5 : (v - min) / (max - min))) * (height - pad.top - pad.bottom) };
    }
    const cats = [...new Set(values.map(String))].sort();
    return { ticks: cats, y: (v) => pad.top + (cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)) * (height - pad.top - pad.bottom) };
  });
  const el = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    svg.append(node);
    return node;
  };
  const last = dimensions.length - 1;
  const metricValues = rows.map((r) => r.values[last]).filter((v) => typeof v === "number");
  const lo = Math.min(...metricValues);
  const hi = Math.max(...metricValues);
  rows.forEach((row) => {
    const points = dimensions.map((_, d) => (row.values[d] === undefined || row.values[d] === null ? null
      : `${pad.side + d * step},${scales[d].y(row.values[d])}`)).filter(Boolean);
    const v = row.values[last];
    const t = typeof v === "number" && hi > lo ? (v - lo) / (hi - lo) : 0.5;
    const line = el("polyline", { points: points.join(" "), fill: "none", "stroke-width": 2,
      stroke: `hsl(${220 - 200 * t} 70% 50%)`, opacity: 0.8 });
    line.append(Object.assign(document.createElementNS(ns, "title"), { textContent: row.label }));
  });
  dimensions.forEach((name, d) => {
    const x = pad.side + d * step;
    el("line", { x1: x, x2: x, y1: pad.top, y2: height - pad.bottom, stroke: "currentColor", opacity: 0.5 });
    el("text", { x, y: 14, "text-anchor": "middle" }).textContent = name;
    for (const tick of scales[d].ticks) {
      el("text", { x: x + 4, y: scales[d].y(tick) + 4 }).textContent =
        typeof tick === "number" ? String(+tick.toPrecision(4)) : tick;
    }
  });
  return h("div", { class: "pc" }, svg);
}
