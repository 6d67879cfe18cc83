// The experiments: search by name, run counts and last activity, create, rename, delete.
import { mlflow, ui } from "../api.js";
import { go, setParams, showError } from "../app.js";
import { fmtTime, h } from "../dom.js";

export async function render(root, { params }, signal) {
  const q = params.get("q") || "";
  const search = h("input", { type: "search", placeholder: "Search experiments by name", value: q,
    id: "experiment-search", onchange: (e) => setParams({ q: e.target.value }) });
  const create = h("button", { type: "button", onclick: async () => {
    const name = prompt("Name of the new experiment");
    if (!name) return;
    try {
      const { experiment_id } = await mlflow.post("experiments/create", { name });
      go(`/experiments/${experiment_id}`);
    } catch (error) { showError(error); }
  } }, "New experiment");
  root.append(h("h1", {}, "Experiments"), h("div", { class: "toolbar" }, search, create));

  const filter = q ? `name ILIKE '%${q.replaceAll("'", "\\'")}%'` : "";
  const { experiments = [] } = await mlflow.get("experiments/search",
    { max_results: 1000, filter, order_by: "last_update_time DESC" }, { signal });
  if (!experiments.length) {
    root.append(h("p", { class: "muted" }, q ? `No experiment matches “${q}”.` : "No experiments yet."));
    return;
  }
  const rows = experiments.map((e) => {
    const count = h("td", { class: "num run-count" }, "…");
    const last = h("td", {}, fmtTime(e.last_update_time));
    ui.get(`experiments/${e.experiment_id}/summary`, {}, { signal }).then((s) => {
      count.textContent = String(s.run_count);
      last.textContent = fmtTime(s.last_activity);
    }).catch((error) => { if (error.name !== "AbortError") count.textContent = "?"; });
    return h("tr", { "data-experiment": e.name },
      h("td", {}, h("a", { href: `#/experiments/${e.experiment_id}` }, e.name)),
      h("td", { class: "mono" }, e.experiment_id), count, last,
      h("td", {}, fmtTime(e.creation_time)),
      h("td", {},
        h("button", { type: "button", onclick: () => rename(e) }, "Rename"), " ",
        h("button", { type: "button", onclick: () => remove(e) }, "Delete")));
  });
  root.append(h("div", { class: "table-wrap" }, h("table", { id: "experiments" },
    h("thead", {}, h("tr", {}, ["Name", "Id", "Runs", "Last activity", "Created", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows))));
}

async function rename(experiment) {
  const name = prompt(`New name for “${experiment.name}”`, experiment.name);
  if (!name || name === experiment.name) return;
  try {
    await mlflow.post("experiments/update", { experiment_id: experiment.experiment_id, new_name: name });
    setParams({});
  } catch (error) { showError(error); }
}

async function remove(experiment) {
  if (!confirm(`Delete the experiment “${experiment.name}” and hide its runs?`)) return;
  try {
    await mlflow.post("experiments/delete", { experiment_id: experiment.experiment_id });
    setParams({});
  } catch (error) { showError(error); }
}
