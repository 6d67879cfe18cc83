// N runs side by side: one metric overlaid (a series per run, legend by run name), the
// param/metric table with differences marked, parallel coordinates and a scatter.
import { mlflow, ui } from "../api.js";
import { setParams, showError } from "../app.js";
import { lineChart, parallelCoordinates, scatter } from "../charts.js";
import { fmtNumber, h } from "../dom.js";
import { chartControls } from "./run.js";

const numberOrText = (v) => (v !== undefined && v !== "" && !Number.isNaN(Number(v)) ? Number(v) : v);

export async function render(root, { params }, signal) {
  const ids = (params.get("runs") || "").split(",").filter(Boolean);
  if (ids.length < 2) { root.append(h("p", {}, "Choose at least two runs in a runs table to compare them.")); return; }
  const runs = await Promise.all(ids.map((id) => mlflow.get("runs/get", { run_id: id }, { signal }).then((a) => a.run)));
  const name = (r) => r.info.run_name || r.info.run_id.slice(0, 8);
  const get = (r, kind, key) => (r.data?.[kind] || []).find((x) => x.key === key)?.value;
  const keys = (kind) => [...new Set(runs.flatMap((r) => (r.data?.[kind] || []).map((x) => x.key)))].sort();
  const metricKeys = keys("metrics");
  const paramKeys = keys("params");
  const metric = params.get("metric") || metricKeys[0] || "";
  const settings = chartControls(params);

  root.append(h("h1", {}, `Compare ${runs.length} runs`));
  const metricSelect = h("select", { id: "compare-metric", onchange: (e) => setParams({ metric: e.target.value }) },
    metricKeys.map((k) => h("option", { value: k, selected: k === metric }, k)));
  const chartEl = h("div", { class: "chart", id: "compare-chart" });
  root.append(h("div", { class: "toolbar" }, h("label", {}, "metric ", metricSelect)), settings.controls,
    h("div", { class: "card" }, chartEl));
  if (metric) {
    try {
      const width = chartEl.clientWidth || 900;
      const series = await Promise.all(runs.map((r) => ui.get("metric-history",
        { run_id: r.info.run_id, key: metric, points: Math.max(200, width) }, { signal })
        .then((s) => ({ label: name(r), start: Number(r.info.start_time), ...s }))));
      lineChart(chartEl, series, { ...settings, width, height: 320 });
    } catch (error) { showError(error, chartEl); }
  }

  // The table: one row per param and metric, a column per run, differing rows marked.
  const row = (kind, key) => {
    const values = runs.map((r) => get(r, kind, key));
    const differs = new Set(values.map(String)).size > 1;
    return h("tr", { class: differs ? "differs" : "" }, h("th", {}, `${kind}.${key}`),
      values.map((v) => h("td", { class: (differs ? "diff " : "") + (kind === "metrics" ? "num" : "mono") },
        kind === "metrics" ? fmtNumber(v) : v ?? "")));
  };
  root.append(h("h2", {}, "Parameters and metrics"), h("div", { class: "table-wrap" }, h("table", { id: "compare-table" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), runs.map((r) => h("th", {}, h("a", { href: `#/runs/${r.info.run_id}` }, name(r)))))),
    h("tbody", {}, paramKeys.map((k) => row("params", k)), metricKeys.map((k) => row("metrics", k))))));

  if (paramKeys.length && metric) {
    const dims = [...paramKeys.map((k) => `params.${k}`), `metrics.${metric}`];
    const rows = runs.map((r) => ({ label: name(r), values: [...paramKeys.map((k) => numberOrText(get(r, "params", k))), get(r, "metrics", metric)] }));
    root.append(h("h2", {}, `Parallel coordinates: params → ${metric}`), h("div", { class: "card", id: "parallel" }, parallelCoordinates(dims, rows)));

    const sx = params.get("sx") || paramKeys[0];
    const xSelect = h("select", { id: "scatter-x", onchange: (e) => setParams({ sx: e.target.value }) },
      paramKeys.map((k) => h("option", { value: k, selected: k === sx }, k)));
    const scatterEl = h("div", { id: "scatter" });
    root.append(h("h2", {}, "Scatter"), h("div", { class: "toolbar" }, h("label", {}, "param ", xSelect), ` against ${metric}`),
      h("div", { class: "card" }, scatterEl));
    const points = runs.map((r) => ({ x: numberOrText(get(r, "params", sx)), y: get(r, "metrics", metric), label: name(r) }))
      .filter((p) => p.x !== undefined && typeof p.y === "number");
    scatter(scatterEl, points, { xLabel: `params.${sx}`, yLabel: `metrics.${metric}` });
  }
}
