// A run's artifacts as a tree (directories opened on demand) with previews of text, JSON, YAML,
// CSV (as a table) and images, and download links.
import { artifactBlob, mlflow } from "../api.js";
import { showError } from "../app.js";
import { clear, h } from "../dom.js";

const PREVIEW_BYTES = 2 * 1024 * 1024;
const TEXT = /\.(txt|log|md|py|json|ya?ml|csv|tsv|MLmodel|toml|cfg|ini|html|xml)$|(^|\/)MLmodel$|(^|\/)[^.]+$/i;
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;

export function artifactsPanel(run, signal) {
  const preview = h("div", { class: "preview", id: "artifact-preview" }, h("span", { class: "muted" }, "Choose a file."));
  const tree = h("div", { id: "artifact-tree" });
  listInto(tree, run, "", preview, signal);
  return h("div", { class: "artifacts" }, tree, preview);
}

async function listInto(el, run, path, preview, signal) {
  let files;
  try {
    ({ files = [] } = await mlflow.get("artifacts/list", { run_id: run.info.run_id, path }, { signal }));
  } catch (error) { showError(error, el); return; }
  if (!files.length && !path) { el.append(h("p", { class: "muted" }, "No artifacts.")); return; }
  const list = h("ul", {});
  for (const file of files) {
    const name = file.path.split("/").pop();
    if (file.is_dir) {
      const children = h("div", { hidden: true });
      let loaded = false;
      list.append(h("li", {}, h("a", { href: "javascript:void 0", onclick: () => {
        children.hidden = !children.hidden;
        if (!loaded) { loaded = true; listInto(children, run, file.path, preview, signal); }
      } }, `▸ ${name}/`), children));
    } else {
      list.append(h("li", {}, h("a", { href: "javascript:void 0", "data-artifact": file.path,
        onclick: () => showPreview(preview, run, file) }, name),
        h("span", { class: "muted" }, ` ${sizeOf(file.file_size)}`)));
    }
  }
  el.append(list);
}

function sizeOf(bytes) {
  if (bytes === undefined) return "";
  const n = Number(bytes);
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

async function showPreview(el, run, file) {
  const download = h("button", { type: "button", onclick: () => save(run, file.path) }, `Download ${file.path}`);
  clear(el, h("div", { class: "toolbar" }, h("strong", {}, file.path), download));
  if (Number(file.file_size || 0) > PREVIEW_BYTES) { el.append(h("p", { class: "muted" }, "Too large to preview.")); return; }
  try {
    const blob = await artifactBlob(run, file.path);
    if (IMAGE.test(file.path)) {
      el.append(h("img", { src: URL.createObjectURL(blob.type ? blob : new Blob([blob], { type: "image/png" })), alt: file.path }));
    } else if (/\.(csv|tsv)$/i.test(file.path)) {
      el.append(csvTable(await blob.text(), file.path.endsWith(".tsv") ? "\t" : ","));
    } else if (/\.json$/i.test(file.path)) {
      const text = await blob.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* shown as it is */ }
      el.append(h("pre", {}, shown));
    } else if (TEXT.test(file.path)) {
      el.append(h("pre", {}, await blob.text()));
    } else {
      el.append(h("p", { class: "muted" }, "No preview for this kind of file."));
    }
  } catch (error) { showError(error, el); }
}

async function save(run, path) {
  try {
    const blob = await artifactBlob(run, path);
    const a = h("a", { href: URL.createObjectURL(blob), download: path.split("/").pop() });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (error) { showError(error); }
}

// A CSV as a table (quoted fields with doubled quotes; the first 500 rows).
export function csvTable(text, sep = ",") {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length <= 500; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) { row.push(field); field = ""; }
    else if (ch === "\n") { row.push(field.replace(/\r$/, "")); rows.push(row); row = []; field = ""; }
    else field += ch;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const [header = [], ...body] = rows;
  return h("table", { class: "csv" }, h("thead", {}, h("tr", {}, header.map((c) => h("th", {}, c)))),
    h("tbody", {}, body.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}
