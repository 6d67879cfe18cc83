// The model registry: models, their versions (links to source runs), aliases and stages (each
// change confirmed first) and tags (set, changed, deleted), over MLflow's registry REST endpoints
// of the gateway; and which version a scoring service serves, when the gateway can ask one.
import { ApiError, mlflow, request, ui } from "../api.js";
import { setParams, showError } from "../app.js";
import { fmtTime, h } from "../dom.js";

const STAGES = ["None", "Staging", "Production", "Archived"];

export async function render(root, { parts, params }, signal) {
  if (parts.length === 2) return renderModel(root, parts[1], signal);
  const q = params.get("q") || "";
  root.append(h("h1", {}, "Models"), h("div", { class: "toolbar" }, h("input", { type: "search", id: "model-search",
    placeholder: "Search models by name", value: q, onchange: (e) => setParams({ q: e.target.value }) })));
  const filter = q ? `name ILIKE '%${q.replaceAll("'", "\\'")}%'` : "";
  const { registered_models: models = [] } = await registry(() =>
    mlflow.get("registered-models/search", { filter, max_results: 1000 }, { signal }));
  if (!models.length) { root.append(h("p", { class: "muted" }, q ? `No model matches “${q}”.` : "No registered models yet.")); return; }
  root.append(h("div", { class: "table-wrap" }, h("table", { id: "models" },
    h("thead", {}, h("tr", {}, ["Name", "Aliases", "Latest versions", "Updated"].map((t) => h("th", {}, t)))),
    h("tbody", {}, models.map((m) => h("tr", { "data-model": m.name },
      h("td", {}, h("a", { href: `#/models/${encodeURIComponent(m.name)}` }, m.name)),
      h("td", {}, (m.aliases || []).map((a) => h("span", { class: "chip" }, `@${a.alias} → v${a.version}`))),
      h("td", {}, (m.latest_versions || []).map((v) => h("span", { class: "chip" }, `v${v.version} ${v.current_stage}`))),
      h("td", {}, fmtTime(m.last_updated_timestamp))))))));
}

async function renderModel(root, name, signal) {
  const quoted = name.replaceAll("\\", "\\\\").replaceAll("'", "\\'");
  const [{ registered_model: model }, { model_versions: versions = [] }] = await registry(() => Promise.all([
    mlflow.get("registered-models/get", { name }, { signal }),
    mlflow.get("model-versions/search", { filter: `name = '${quoted}'`, max_results: 1000 }, { signal }),
  ]));
  // Not awaited: a scoring service that is slow or down does not hold the page.
  const served = ui.get("served-models", {}, { signal });
  served.catch(() => {});
  versions.sort((a, b) => Number(b.version) - Number(a.version));
  const versionNumbers = versions.map((v) => Number(v.version));
  const change = async (method, endpoint, body) => {
    try {
      await request(method, `/api/2.0/mlflow/${endpoint}`, { body: { name: model.name, ...body } });
      setParams({});
    } catch (error) { showError(error); }
  };

  root.append(h("h1", {}, h("a", { href: "#/models" }, "Models"), " / ", model.name));
  if (model.description) root.append(h("p", {}, model.description));

  const aliases = model.aliases || [];
  const versionSelect = (id, chosen) => h("select", { id }, versionNumbers.map((n) => h("option", { value: n, selected: n === chosen }, `version ${n}`)));
  root.append(h("h2", {}, "Aliases"), h("table", { id: "aliases" }, h("tbody", {}, aliases.map((a) => {
    const select = versionSelect(`alias-version-${a.alias}`, Number(a.version));
    return h("tr", { "data-alias": a.alias }, h("th", {}, `@${a.alias}`), h("td", {}, `version ${a.version}`),
      h("td", {}, select, " ", h("button", { type: "button", class: "move-alias", onclick: () => {
        if (Number(select.value) === Number(a.version)) return;
        if (confirm(`Move @${a.alias} of ${model.name} from version ${a.version} to version ${select.value}?`)) {
          change("POST", "registered-models/alias", { alias: a.alias, version: select.value });
        }
      } }, "Move"), " ", h("button", { type: "button", onclick: () => {
        if (confirm(`Delete the alias @${a.alias} of ${model.name}?`)) change("DELETE", "registered-models/alias", { alias: a.alias });
      } }, "Delete")));
  }))));
  const newAlias = h("input", { id: "new-alias", placeholder: "alias, e.g. champion" });
  const newVersion = versionSelect("new-alias-version", versionNumbers[0]);
  root.append(h("div", { class: "toolbar" }, newAlias, newVersion, h("button", { type: "button", id: "add-alias", onclick: () => {
    const alias = newAlias.value.trim();
    if (alias && confirm(`Point @${alias} of ${model.name} at version ${newVersion.value}?`)) {
      change("POST", "registered-models/alias", { alias, version: newVersion.value });
    }
  } }, "Set alias")));

  root.append(h("h2", {}, "Versions"), h("div", { class: "table-wrap" }, h("table", { id: "versions" },
    h("thead", {}, h("tr", {}, ["Version", "Stage", "Aliases", "Source", "Run", "Created", "Tags"].map((t) => h("th", {}, t)))),
    h("tbody", {}, versions.map((v) => h("tr", { "data-version": v.version },
      h("td", {}, `v${v.version}`),
      h("td", {}, h("select", { class: "stage", onchange: (e) => {
        const stage = e.target.value;
        if (confirm(`Move version ${v.version} of ${model.name} from ${v.current_stage} to ${stage}?`)) {
          change("POST", "model-versions/transition-stage", { version: v.version, stage, archive_existing_versions: false });
        } else e.target.value = v.current_stage;
      } }, STAGES.map((s) => h("option", { value: s, selected: s === v.current_stage }, s)))),
      h("td", {}, (v.aliases || []).map((a) => h("span", { class: "chip" }, `@${a}`))),
      h("td", { class: "mono" }, v.source),
      h("td", {}, v.run_id ? h("a", { href: `#/runs/${v.run_id}` }, v.run_id.slice(0, 8)) : ""),
      h("td", {}, fmtTime(v.creation_timestamp)),
      h("td", { class: "version-tags" }, (v.tags || []).map((t) => h("span", { class: "chip", "data-tag": t.key }, `${t.key}=${t.value}`,
        h("button", { type: "button", class: "chip-x", title: `Delete the tag ${t.key}`, onclick: () => {
          if (confirm(`Delete the tag ${t.key} of version ${v.version} of ${model.name}?`)) {
            change("DELETE", "model-versions/delete-tag", { version: v.version, key: t.key });
          }
        } }, "×"))))))))));
  const tagKey = h("input", { id: "new-version-tag-key", placeholder: "key" });
  const tagValue = h("input", { id: "new-version-tag-value", placeholder: "value" });
  const tagVersion = versionSelect("new-version-tag-version", versionNumbers[0]);
  root.append(h("div", { class: "toolbar" }, "Tag", tagVersion, tagKey, tagValue, h("button", { type: "button", id: "set-version-tag", onclick: () => {
    const key = tagKey.value.trim();
    if (key) change("POST", "model-versions/set-tag", { version: tagVersion.value, key, value: tagValue.value });
  } }, "Set tag")));

  root.append(h("h2", {}, "Tags"), h("table", { id: "model-tags" }, h("tbody", {}, (model.tags || []).map((t) => {
    const value = h("input", { value: t.value, "aria-label": `value of ${t.key}` });
    return h("tr", { "data-tag": t.key }, h("th", {}, t.key), h("td", {}, value), h("td", {},
      h("button", { type: "button", class: "save-tag", onclick: () => {
        if (value.value !== t.value) change("POST", "registered-models/set-tag", { key: t.key, value: value.value });
      } }, "Save"), " ",
      h("button", { type: "button", class: "delete-tag", onclick: () => {
        if (confirm(`Delete the tag ${t.key} of ${model.name}?`)) change("DELETE", "registered-models/delete-tag", { key: t.key });
      } }, "Delete")));
  }))));
  const modelTagKey = h("input", { id: "new-model-tag-key", placeholder: "key" });
  const modelTagValue = h("input", { id: "new-model-tag-value", placeholder: "value" });
  root.append(h("div", { class: "toolbar" }, modelTagKey, modelTagValue, h("button", { type: "button", id: "set-model-tag", onclick: () => {
    const key = modelTagKey.value.trim();
    if (key) change("POST", "registered-models/set-tag", { key, value: modelTagValue.value });
  } }, "Set tag")));

  const servedHolder = h("div", { id: "served" }, h("p", { class: "muted" }, "Asking the scoring service…"));
  root.insertBefore(h("h2", {}, "Served"), root.querySelector("h2"));
  root.insertBefore(servedHolder, root.querySelectorAll("h2")[1]);
  // A scoring service that is down or slow now may answer soon (it restarts, or loads its
  // model): ask again every few seconds while this page is open and the answer is an error.
  const show = (answer) => {
    showServed(servedHolder, root, model.name, answer);
    if (answer.error && !signal.aborted) {
      setTimeout(() => {
        if (signal.aborted) return;
        ui.get("served-models", {}, { signal }).then(show, () => {});
      }, SERVED_RETRY_MS);
    }
  };
  served.then(show, (error) => showError(error, servedHolder));
}

const SERVED_RETRY_MS = 3000;

// Whether a served model is a version of the registered model `name`: served under its name
// (the scoring service's default) or loaded from a `models:/name/…` or `models:/name@…` URI.
export function servesModel(served, name) {
  return served.name === name || served.source_uri.startsWith(`models:/${name}/`) ||
    served.source_uri.startsWith(`models:/${name}@`);
}

function showServed(holder, root, name, answer) {
  holder.replaceChildren();
  if (!answer.address) {
    holder.append(h("p", { class: "muted" }, "No scoring service is asked: start the gateway with " +
      "--scoring-address (mlgrpc up --model does) to see which version it serves."));
    return;
  }
  if (answer.error) {
    holder.append(h("p", { class: "error" }, `The scoring service at ${answer.address} could not be asked: ${answer.error}`));
    return;
  }
  const mine = answer.models.filter((m) => servesModel(m, name));
  if (!mine.length) {
    holder.append(h("p", { class: "muted" }, `The scoring service at ${answer.address} serves no version of ${name}.`));
    return;
  }
  for (const m of mine) {
    holder.append(h("p", { class: "served-model", "data-version": m.version },
      `The scoring service at ${answer.address} serves version ${m.version}`,
      m.name !== name ? ` as ${m.name}` : "", ` (loaded from ${m.source_uri}`,
      m.loaded_at_ms ? `, since ${fmtTime(m.loaded_at_ms)})` : ")"));
    root.querySelector(`#versions tr[data-version="${CSS.escape(m.version)}"] td`)
      ?.append(" ", h("span", { class: "chip served" }, "served"));
  }
}

// A registry call; a gateway started without a registry serves none of its endpoints: say how
// to get one instead of "no such endpoint".
async function registry(call) {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.code === "ENDPOINT_NOT_FOUND") {
      throw new ApiError(404, error.code, "This gateway serves no model registry: start it with " +
        "--registry-address (mlgrpc up does).");
    }
    throw error;
  }
}
