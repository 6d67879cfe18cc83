// The runs of an experiment: MLflow's filter language (run by the tracking service, its error
// and position shown under the box), sort by any column, chosen columns, keyset pages, nested
// runs under their parent, group by a param, and runs selected for comparison.
import { mlflow, ui } from "../api.js";
import { go, setParams, showError } from "../app.js";
import { clear, esc, fmtDuration, fmtNumber, fmtTime, h } from "../dom.js";

const PAGE_SIZE = 50;
// Rows drawn first: those the table's box shows (style.css: 70% of the window's height, rows of
// about 28 pixels), and one more; the rest of the page follows after that frame.
const ROW_PIXELS = 28;
const firstRows = () => Math.ceil((window.innerHeight * 0.7) / ROW_PIXELS) + 1;
const KINDS = { m: "metrics", p: "params", t: "tags" };
const PARENT_TAG = "mlflow.parentRunId";
// Tokens of the pages before this one, per query, for "Previous" (tokens only go forward).
const previousTokens = new Map();

export function orderKey(kind, key) {
  const entity = KINDS[kind] || "attributes";
  return `${entity}.${/^\w+$/.test(key) ? key : "`" + key.replaceAll("`", "``") + "`"}`;
}

// A run of the lean page (/ui/api/runs/search): metrics, params and tags are key → value.
export function columnValue(run, kind, key) {
  return run[KINDS[kind]]?.[key];
}

// The previous page stays on screen until this one's runs are here (app.js), or "Loading…"
// after LOADING_MS.
export const clearsView = true;
const LOADING_MS = 150;

export async function render(root, { parts, params }, signal) {
  const experimentIds = parts[1].split(",");
  const filter = params.get("filter") || "";
  const order = params.get("order") || "";
  const page = params.get("page") || "";
  const selected = new Set((params.get("sel") || "").split(",").filter(Boolean));
  const group = params.get("group") || "";

  // The page first, in the lean shape: the table waits for it alone. The experiment's name is
  // asked once the page is here (while its rows are built), so the gateway answers one call at
  // a time, and fills the heading whenever it comes.
  performance.mark("mlgrpc:runs-request");
  const pageAnswer = ui.post("runs/search", {
    experiment_ids: experimentIds, filter, max_results: PAGE_SIZE, page_token: page,
    order_by: order ? [order] : [],
  }, { signal });
  pageAnswer.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  const name = h("span", { id: "experiment-name" }, "…");
  const heading = h("h1", {}, h("a", { href: "#/" }, "Experiments"), " / ", name,
    experimentIds.length > 1 ? ` + ${experimentIds.length - 1} more` : "");

  const input = h("input", { id: "run-filter", type: "search", value: filter, spellcheck: false,
    placeholder: "metrics.rmse < 0.8 AND params.alpha = '0.5'",
    onkeydown: (e) => { if (e.key === "Enter") setParams({ filter: input.value.trim(), page: "" }); } });
  const filterError = h("div", { class: "error", id: "filter-error" });
  const toolbar = h("div", { class: "toolbar" }, h("div", { class: "filter" }, input, filterError));
  const tableHolder = h("div");

  const queryKey = JSON.stringify([experimentIds, filter, order]);
  // A table still on screen is the previous URL's: not "complete" for this one (tests and
  // scripts wait for `#runs[data-complete]`).
  root.querySelector("#runs")?.removeAttribute("data-complete");
  const loading = setTimeout(() => {
    if (!signal.aborted) clear(root, h("p", { class: "muted", id: "runs-loading" }, "Loading runs…"));
  }, LOADING_MS);
  let answer;
  try {
    answer = await pageAnswer;
  } catch (error) {
    clearTimeout(loading);
    if (signal.aborted) throw error; // another view is drawn instead
    clear(root, heading, toolbar, tableHolder);
    if (error.status === 400 && (filter || order)) {
      showFilterError(filterError, filter, error.message);
      return;
    }
    throw error;
  }
  performance.mark("mlgrpc:runs-answer");
  clearTimeout(loading);
  // The page appears in one piece, in place of the previous one: no frame is drawn (on the CPU
  // the services share) while the page is on its way.
  clear(root, heading, toolbar, tableHolder);
  const pageRuns = answer.runs || [];
  const columns = chooseColumns(params.get("cols"), pageRuns);

  const sortHeader = (label, kind, key) => {
    const clause = orderKey(kind, key);
    const [currentKey, dir] = order.split(" ");
    const active = currentKey === clause;
    const next = active && dir === "DESC" ? `${clause} ASC` : `${clause} DESC`;
    return h("th", { class: "sortable", "data-column": `${kind}:${key}`,
      onclick: () => setParams({ order: next, page: "" }) },
      label, active ? h("span", { class: "arrow" }, dir === "DESC" ? " ▼" : " ▲") : "");
  };
  const head = h("tr", {}, h("th", {}, ""), sortHeader("Run", "a", "run_name"),
    h("th", {}, "Status"), sortHeader("Started", "a", "start_time"), h("th", {}, "Duration"),
    columns.map(([kind, key]) => sortHeader(`${kind === "m" ? "" : KINDS[kind] + "."}${key}`, kind, key)));

  // The rows as one HTML string (every value escaped), parsed once: a page of 50 runs × 25
  // columns is 1,250 cells, which element by element cost more than the gRPC call itself.
  const cellClass = columns.map(([kind, key]) => ` data-column="${esc(`${kind}:${key}`)}"${kind === "m" ? ' class="num"' : ""}`);
  const rowHtml = (run, child) => {
    const { info } = run;
    const id = esc(info.run_id);
    let html = `<tr${child ? ' class="child"' : ""} data-run="${id}"><td><input type="checkbox"${selected.has(info.run_id) ? " checked" : ""}></td>`
      + `<td><a href="#/runs/${id}">${esc(info.run_name || info.run_id)}</a></td>`
      + `<td class="status-${esc(info.status)}">${esc(info.status)}</td>`
      + `<td>${esc(fmtTime(info.start_time))}</td><td>${esc(fmtDuration(info.start_time, info.end_time))}</td>`;
    for (let i = 0; i < columns.length; i++) {
      const [kind, key] = columns[i];
      const value = columnValue(run, kind, key);
      // A number's text needs no escaping (digits, ".", "e", "-", "+"); anything else does.
      const shown = typeof value === "number" ? fmtNumber(value) : esc(kind === "m" ? fmtNumber(value) : value ?? "");
      html += `<td${cellClass[i]}>${shown}</td>`;
    }
    return html + "</tr>";
  };
  // [label, run, isChild] in the table's order; only the rows drawn first are made into HTML
  // before the mark, the others with the rest of the page.
  const ordered = [];
  for (const [label, members] of groups(nested(pageRuns), group)) {
    if (group) ordered.push([label]);
    for (const [run, child] of members) ordered.push([label, run, child]);
  }
  const html = (entries) => entries.map(([label, run, child]) => (run
    ? rowHtml(run, child)
    : `<tr class="group"><th colspan="${5 + columns.length}">${esc(label)}</th></tr>`)).join("");
  const first = firstRows();
  const firstHtml = html(ordered.slice(0, first));
  performance.mark("mlgrpc:runs-rows");
  const body = h("tbody", { onchange: (e) => {
    const runId = e.target.closest("tr[data-run]")?.dataset.run;
    if (!runId) return;
    if (e.target.checked) selected.add(runId); else selected.delete(runId);
    setParams({ sel: [...selected].join(",") });
  } });
  // The rows the box shows first, drawn at once; the rest (below its fold) in a task after that
  // frame, so that neither task holds the page long (layout and paint of a whole page of cells
  // in one frame is what blocked it).
  body.innerHTML = firstHtml;
  const table = h("table", { id: "runs", "data-filter": filter, "data-order": order }, h("thead", {}, head), body);
  const appendRest = () => {
    if (signal.aborted) return;
    body.insertAdjacentHTML("beforeend", html(ordered.slice(first)));
    table.dataset.complete = "";
  };
  if (ordered.length > first) requestAnimationFrame(() => setTimeout(appendRest, 0));
  else table.dataset.complete = "";
  clear(tableHolder, pageRuns.length
    ? h("div", { class: "table-wrap" }, table)
    : h("p", { class: "muted", id: "no-runs" }, filter ? "No run matches the filter." : "No runs yet."));
  // The visible rows are in the DOM (bench/ui_bench.py reads this mark).
  performance.mark("mlgrpc:runs-table");
  // The heading's name after the table: starting a request costs the main thread too.
  mlflow.get("experiments/get", { experiment_id: experimentIds[0] }, { signal })
    .then(({ experiment }) => { name.textContent = experiment.name; }, (error) => showError(error, root));

  toolbar.append(
    columnPicker(columns, pageRuns),
    groupPicker(group, pageRuns),
    h("button", { type: "button", class: "primary", id: "compare", disabled: selected.size < 2,
      onclick: () => go("/compare", { runs: [...selected].join(",") }) },
      `Compare ${selected.size || ""} runs`.replace("  ", " ")));

  const stack = previousTokens.get(queryKey) || [];
  previousTokens.set(queryKey, stack);
  root.append(h("div", { class: "pager" },
    h("button", { type: "button", id: "prev-page", disabled: !page,
      onclick: () => setParams({ page: stack.pop() || "" }) }, "← Previous"),
    h("span", { class: "muted" }, `${pageRuns.length} runs on this page`),
    h("button", { type: "button", id: "next-page", disabled: !answer.next_page_token,
      onclick: () => { stack.push(page); setParams({ page: answer.next_page_token }); } }, "Next →")));
}

// The filter's error, and a caret under the character it names ("at character N").
function showFilterError(el, filter, message) {
  const at = /at character (\d+)/.exec(message);
  clear(el, message);
  if (at) {
    const position = Number(at[1]) - 1;
    el.append(h("pre", { class: "mono caret" }, `${filter}\n${" ".repeat(position)}^`));
  }
}

// Columns from the URL (`cols=m:rmse,p:alpha`), else the page's metrics and params.
function chooseColumns(cols, pageRuns) {
  if (cols) return cols.split(",").map((c) => [c.slice(0, 1), c.slice(2)]).filter(([k, key]) => KINDS[k] && key);
  const keys = (kind) => [...new Set(pageRuns.flatMap((r) => Object.keys(r[KINDS[kind]] || {})))].sort();
  return [...keys("m").slice(0, 12).map((k) => ["m", k]), ...keys("p").slice(0, 12).map((k) => ["p", k])];
}

function columnPicker(columns, pageRuns) {
  const chosen = new Set(columns.map(([k, key]) => `${k}:${key}`));
  const all = new Set(chosen);
  for (const run of pageRuns) {
    for (const kind of ["m", "p", "t"]) for (const key of Object.keys(run[KINDS[kind]] || {})) all.add(`${kind}:${key}`);
  }
  const menu = h("div", { class: "menu", hidden: true },
    [...all].sort().map((c) => h("label", {}, h("input", { type: "checkbox", checked: chosen.has(c),
      value: c, onchange: (e) => {
        if (e.target.checked) chosen.add(c); else chosen.delete(c);
        setParams({ cols: [...chosen].join(",") || "m:" });
      } }), ` ${KINDS[c[0]]}.${c.slice(2)}`)));
  return h("div", { class: "columns" },
    h("button", { type: "button", id: "columns", onclick: () => { menu.hidden = !menu.hidden; } }, "Columns ▾"), menu);
}

function groupPicker(group, pageRuns) {
  const keys = [...new Set(pageRuns.flatMap((r) => Object.keys(r.params || {})))].sort();
  return h("select", { id: "group", title: "Group by a param", onchange: (e) => setParams({ group: e.target.value }) },
    h("option", { value: "" }, "No grouping"),
    keys.map((k) => h("option", { value: k, selected: k === group }, `group by ${k}`)));
}

// [run, isChild] with each child right after its parent when both are on the page.
function nested(pageRuns) {
  const ids = new Set(pageRuns.map((r) => r.info.run_id));
  const children = new Map();
  const top = [];
  for (const run of pageRuns) {
    const parent = columnValue(run, "t", PARENT_TAG);
    if (parent && ids.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(run);
    } else top.push(run);
  }
  const out = [];
  const visit = (run, depth) => {
    out.push([run, depth > 0]);
    for (const child of children.get(run.info.run_id) || []) visit(child, depth + 1);
  };
  top.forEach((run) => visit(run, 0));
  return out;
}

function groups(rows, group) {
  if (!group) return [["", rows]];
  const byValue = new Map();
  for (const row of rows) {
    const value = columnValue(row[0], "p", group);
    const label = value === undefined ? `${group} not set` : `${group} = ${value}`;
    if (!byValue.has(label)) byValue.set(label, []);
    byValue.get(label).push(row);
  }
  return [...byValue.entries()];
}
