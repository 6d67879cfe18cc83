// One run: info, params, latest metrics, tags (editable), notes, inputs, artifacts, and a chart
// per metric; while the run is RUNNING a server-sent stream updates values and charts.
import { mlflow, streamEvents, ui } from "../api.js";
import { setParams, showError } from "../app.js";
import { lineChart } from "../charts.js";
import { clear, fmtDuration, fmtNumber, fmtTime, h } from "../dom.js";
import { markdownToHtml } from "../markdown.js";
import { artifactsPanel } from "./artifacts.js";

const NOTE_TAG = "mlflow.note.content";

export function chartControls(params) {
  const x = params.get("x") || "step";
  const smoothing = Number(params.get("smooth") || 0);
  const log = params.get("log") === "1";
  const controls = h("div", { class: "toolbar", id: "chart-controls" },
    h("label", {}, "x axis ", h("select", { id: "x-axis", onchange: (e) => setParams({ x: e.target.value === "step" ? "" : e.target.value }) },
      ["step", "wall", "relative"].map((v) => h("option", { value: v, selected: v === x }, { step: "step", wall: "wall time", relative: "relative time" }[v])))),
    h("label", {}, "smoothing ", h("input", { id: "smoothing", type: "range", min: 0, max: 0.99, step: 0.01, value: smoothing,
      onchange: (e) => setParams({ smooth: Number(e.target.value) || "" }) }), ` ${smoothing}`),
    h("label", {}, h("input", { id: "log-scale", type: "checkbox", checked: log, onchange: (e) => setParams({ log: e.target.checked }) }), " log scale"),
    h("span", { class: "muted" }, "drag to zoom, double-click to reset"));
  return { x, smoothing, log, controls };
}

export async function render(root, { parts, params }, signal) {
  const runId = parts[1];
  let { run } = await mlflow.get("runs/get", { run_id: runId }, { signal });
  const settings = chartControls(params);
  const info = h("div");
  const metricsTable = h("div");
  const charts = h("div", { class: "grid", id: "charts" });
  const cards = new Map(); // metric key → {el, plot, latest}

  const drawInfo = () => {
    const i = run.info;
    clear(info,
      h("h1", {}, h("a", { href: `#/experiments/${i.experiment_id}` }, "Runs"), " / ", i.run_name || i.run_id),
      h("dl", { class: "kv" },
        h("dt", {}, "Run id"), h("dd", { class: "mono" }, i.run_id),
        h("dt", {}, "Status"), h("dd", { class: `status-${i.status}`, id: "run-status" }, i.status),
        h("dt", {}, "Started"), h("dd", {}, fmtTime(i.start_time)),
        h("dt", {}, "Duration"), h("dd", {}, fmtDuration(i.start_time, i.end_time)),
        h("dt", {}, "Artifact URI"), h("dd", { class: "mono" }, i.artifact_uri)));
  };
  const drawMetrics = () => {
    const metrics = [...(run.data?.metrics || [])].sort((a, b) => a.key.localeCompare(b.key));
    clear(metricsTable, metrics.length ? h("table", { id: "latest-metrics" },
      h("thead", {}, h("tr", {}, h("th", {}, "Metric"), h("th", {}, "Latest value"), h("th", {}, "Step"))),
      h("tbody", {}, metrics.map((m) => h("tr", { "data-metric": m.key }, h("td", {}, m.key),
        h("td", { class: "num" }, fmtNumber(m.value)), h("td", { class: "num" }, m.step ?? 0)))))
      : h("p", { class: "muted" }, "No metrics."));
  };
  const drawCharts = () => {
    for (const m of run.data?.metrics || []) {
      const card = cards.get(m.key);
      const latest = `${m.step}/${m.timestamp}/${m.value}`;
      if (card && card.latest === latest) continue;
      if (!card) {
        const el = h("div", { class: "chart", "data-metric": m.key });
        charts.append(h("div", { class: "card" }, h("h3", {}, m.key), el));
        cards.set(m.key, { el, latest, plot: null });
      } else card.latest = latest;
      loadChart(runId, m.key, cards.get(m.key), settings, signal);
    }
  };

  drawInfo();
  root.append(info, h("h2", {}, "Metrics"), metricsTable, settings.controls, charts,
    h("h2", {}, "Parameters"), keyValueTable(run.data?.params, "params"),
    h("h2", {}, "Tags"), tagsEditor(run), h("h2", {}, "Notes"), notesEditor(run),
    inputsSection(run), loggedModelsSection(runId, signal), h("h2", {}, "Artifacts"),
    artifactsPanel(run, signal));
  drawMetrics();
  drawCharts();

  if (run.info.status === "RUNNING") {
    live(runId, (next) => { run = next; drawInfo(); drawMetrics(); drawCharts(); }, signal);
  }
}

async function loadChart(runId, key, card, settings, signal, range = {}) {
  try {
    const width = card.el.clientWidth || 460;
    const s = await ui.get("metric-history", { run_id: runId, key, points: Math.max(200, 2 * width), ...range }, { signal });
    card.plot?.destroy();
    clear(card.el);
    const zoomable = settings.x === "step" && s.total > s.steps.length;
    card.plot = lineChart(card.el, [{ label: key, ...s }], { ...settings, width,
      onZoom: zoomable ? (min, max) => loadChart(runId, key, card, settings, signal, { min_step: min, max_step: max }) : undefined });
    if (s.total > s.steps.length) card.el.append(h("div", { class: "muted" }, `${s.total} points, ${s.steps.length} drawn (min/max per bucket)`));
  } catch (error) { showError(error, card.el); }
}

// Follows the run's event stream; reconnects when the stream ends while the run still runs.
async function live(runId, onRun, signal) {
  let running = true;
  while (running && !signal.aborted) {
    try {
      await streamEvents(`/ui/api/runs/${runId}/events`, (name, data) => {
        if (name === "run") { onRun(data); running = data.info.status === "RUNNING"; }
        if (name === "end") running = false;
      }, signal);
    } catch (error) {
      if (error.name === "AbortError") return;
    }
    if (running) await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function keyValueTable(items, id) {
  if (!items?.length) return h("p", { class: "muted" }, "None.");
  return h("table", { id }, h("tbody", {}, [...items].sort((a, b) => a.key.localeCompare(b.key))
    .map((x) => h("tr", {}, h("th", {}, x.key), h("td", { class: "mono" }, x.value)))));
}

function tagsEditor(run) {
  const visible = (run.data?.tags || []).filter((t) => t.key !== NOTE_TAG);
  const set = async (key, value) => {
    try { await mlflow.post("runs/set-tag", { run_id: run.info.run_id, key, value }); setParams({}); } catch (e) { showError(e); }
  };
  const keyInput = h("input", { placeholder: "key", id: "tag-key" });
  const valueInput = h("input", { placeholder: "value", id: "tag-value" });
  return h("div", {}, keyValueTable(visible, "tags"), visible.length ? h("div", { class: "toolbar" },
    visible.filter((t) => !t.key.startsWith("mlflow.")).map((t) => h("button", { type: "button",
      onclick: async () => {
        if (!confirm(`Delete the tag ${t.key}?`)) return;
        try { await mlflow.post("runs/delete-tag", { run_id: run.info.run_id, key: t.key }); setParams({}); } catch (e) { showError(e); }
      } }, `✕ ${t.key}`))) : "",
  h("div", { class: "toolbar" }, keyInput, valueInput,
    h("button", { type: "button", onclick: () => keyInput.value && set(keyInput.value, valueInput.value) }, "Set tag")));
}

function notesEditor(run) {
  const note = (run.data?.tags || []).find((t) => t.key === NOTE_TAG)?.value || "";
  const shown = h("div", { class: "card notes" });
  shown.innerHTML = note ? markdownToHtml(note) : '<p class="muted">No notes.</p>';
  const area = h("textarea", { rows: 6, cols: 80, hidden: true }, note);
  const save = h("button", { type: "button", hidden: true, onclick: async () => {
    try { await mlflow.post("runs/set-tag", { run_id: run.info.run_id, key: NOTE_TAG, value: area.value }); setParams({}); } catch (e) { showError(e); }
  } }, "Save notes");
  const edit = h("button", { type: "button", onclick: () => { area.hidden = save.hidden = false; edit.hidden = true; } }, "Edit notes");
  return h("div", {}, shown, area, h("div", { class: "toolbar" }, edit, save));
}

function inputsSection(run) {
  const datasets = run.inputs?.dataset_inputs || [];
  if (!datasets.length) return "";
  return h("div", {}, h("h2", {}, "Inputs"), h("table", { id: "inputs" }, h("tbody", {}, datasets.map((d) =>
    h("tr", {}, h("th", {}, d.dataset?.name), h("td", { class: "mono" }, d.dataset?.digest),
      h("td", {}, d.dataset?.source_type), h("td", {}, (d.tags || []).map((t) => `${t.key}=${t.value}`).join(", ")))))));
}

// The models logged in the run: flavors, signature and input example, read from their MLmodel
// by /ui/api/runs/ID/logged-models (drawn when it answers; the rest of the page does not wait).
function loggedModelsSection(runId, signal) {
  const section = h("div", { id: "logged-models" });
  ui.get(`runs/${runId}/logged-models`, {}, { signal }).then(({ logged_models: models = [] }) => {
    if (!models.length) return;
    section.append(h("h2", {}, "Logged model"));
    for (const m of models) {
      const columns = (spec) => (Array.isArray(spec) ? spec : []).map((c) =>
        h("tr", {}, h("th", {}, c.name ?? ""), h("td", { class: "mono" }, c.type ?? JSON.stringify(c))));
      section.append(h("div", { class: "card", "data-model-path": m.path },
        h("h3", {}, m.path, " ", (m.flavors || []).map((f) => h("span", { class: "chip" }, f))),
        m.signature?.inputs ? h("div", {}, h("strong", {}, "Signature inputs"),
          h("table", { class: "signature-inputs" }, h("tbody", {}, columns(m.signature.inputs)))) : "",
        m.signature?.outputs ? h("div", {}, h("strong", {}, "Outputs"),
          h("table", { class: "signature-outputs" }, h("tbody", {}, columns(m.signature.outputs)))) : "",
        m.input_example !== null && m.input_example !== undefined ? h("div", {}, h("strong", {}, "Input example"),
          h("pre", { class: "input-example" }, typeof m.input_example === "string"
            ? m.input_example : JSON.stringify(m.input_example, null, 2))) : ""));
    }
  }).catch((error) => showError(error, section));
  return section;
}
