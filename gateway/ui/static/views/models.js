// The model registry: models, their versions (links to source runs), aliases and stages (each
// change confirmed first) and tags. Served by the UI's /ui/api/models routes over the registry
// service's gRPC contract.
import { request, ui } from "../api.js";
import { setParams, showError } from "../app.js";
import { fmtTime, h } from "../dom.js";

const STAGES = ["None", "Staging", "Production", "Archived"];

export async function render(root, { parts, params }, signal) {
  if (parts.length === 2) return renderModel(root, parts[1], signal);
  const q = params.get("q") || "";
  root.append(h("h1", {}, "Models"), h("div", { class: "toolbar" }, h("input", { type: "search", id: "model-search",
    placeholder: "Search models by name", value: q, onchange: (e) => setParams({ q: e.target.value }) })));
  const { registered_models: models = [] } = await ui.get("models", { q }, { signal });
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
  const path = `models/${encodeURIComponent(name)}`;
  const { registered_model: model, model_versions: versions = [] } = await ui.get(path, {}, { signal });
  const versionNumbers = versions.map((v) => Number(v.version));
  const change = async (method, sub, body) => {
    try {
      await request(method, `/ui/api/${path}${sub}`, { body });
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
          change("POST", "/aliases", { alias: a.alias, version: Number(select.value) });
        }
      } }, "Move"), " ", h("button", { type: "button", onclick: () => {
        if (confirm(`Delete the alias @${a.alias} of ${model.name}?`)) change("DELETE", `/aliases/${encodeURIComponent(a.alias)}`);
      } }, "Delete")));
  }))));
  const newAlias = h("input", { id: "new-alias", placeholder: "alias, e.g. champion" });
  const newVersion = versionSelect("new-alias-version", versionNumbers[0]);
  root.append(h("div", { class: "toolbar" }, newAlias, newVersion, h("button", { type: "button", id: "add-alias", onclick: () => {
    const alias = newAlias.value.trim();
    if (alias && confirm(`Point @${alias} of ${model.name} at version ${newVersion.value}?`)) {
      change("POST", "/aliases", { alias, version: Number(newVersion.value) });
    }
  } }, "Set alias")));

  root.append(h("h2", {}, "Versions"), h("div", { class: "table-wrap" }, h("table", { id: "versions" },
    h("thead", {}, h("tr", {}, ["Version", "Stage", "Aliases", "Source", "Run", "Created", "Tags"].map((t) => h("th", {}, t)))),
    h("tbody", {}, versions.map((v) => h("tr", { "data-version": v.version },
      h("td", {}, `v${v.version}`),
      h("td", {}, h("select", { class: "stage", onchange: (e) => {
        const stage = e.target.value;
        if (confirm(`Move version ${v.version} of ${model.name} from ${v.current_stage} to ${stage}?`)) {
          change("POST", "/stage", { version: Number(v.version), stage });
        } else e.target.value = v.current_stage;
      } }, STAGES.map((s) => h("option", { value: s, selected: s === v.current_stage }, s)))),
      h("td", {}, (v.aliases || []).map((a) => h("span", { class: "chip" }, `@${a}`))),
      h("td", { class: "mono" }, v.source),
      h("td", {}, v.run_id ? h("a", { href: `#/runs/${v.run_id}` }, v.run_id.slice(0, 8)) : ""),
      h("td", {}, fmtTime(v.creation_timestamp)),
      h("td", {}, (v.tags || []).map((t) => h("span", { class: "chip" }, `${t.key}=${t.value}`)))))))));

  if ((model.tags || []).length) {
    root.append(h("h2", {}, "Tags"), h("table", {}, h("tbody", {}, model.tags.map((t) => h("tr", {}, h("th", {}, t.key), h("td", {}, t.value))))));
  }
}
