// The single page: the URL's hash names the view and holds its state (#/experiments/1?filter=…),
// so any view can be bookmarked and shared; a change of the hash draws the view again.
import { ApiError, setToken, token } from "./api.js";
import { clear, h } from "./dom.js";
import * as compare from "./views/compare.js";
import * as experiments from "./views/experiments.js";
import * as models from "./views/models.js";
import * as run from "./views/run.js";
import * as runs from "./views/runs.js";

const view = document.getElementById("view");
let current = null; // AbortController of the drawn view: its fetches and live streams

export function route(fromHash = location.hash) {
  const hash = fromHash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

// Changes some of the URL's state; `push` makes a history entry (a new view), otherwise the
// entry is replaced (a setting of the same view). The view is drawn again either way.
export function setParams(changes, { push = false } = {}) {
  const { parts, params } = route();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === "" || v === false) params.delete(k);
    else params.set(k, v === true ? "1" : String(v));
  }
  const query = params.toString();
  const hash = `#/${parts.map(encodeURIComponent).join("/")}${query ? "?" + query : ""}`;
  if (push) location.hash = hash;
  else { history.replaceState(null, "", hash); draw(); }
}

export function go(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  location.hash = `#${path}${[...query].length ? "?" + query : ""}`;
}

// A failure as a readable message in the page; a missing or refused token opens the login.
export function showError(error, where = view) {
  if (error?.name === "AbortError") return;
  if (error instanceof ApiError && error.unauthenticated) { askToken(error.message); return; }
  const message = error instanceof ApiError ? error.message : `Unexpected error: ${error?.message || error}`;
  where.append(h("div", { class: "error card", role: "alert" }, message));
}

function askToken(message) {
  const dialog = document.getElementById("login");
  document.getElementById("login-error").textContent = token() ? message : "";
  if (!dialog.open) dialog.showModal();
}

document.getElementById("login-form").addEventListener("submit", () => {
  setToken(document.getElementById("login-token").value.trim());
  draw();
});
document.getElementById("logout").addEventListener("click", () => { setToken(""); draw(); });
document.getElementById("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("mlgrpc.theme", next);
  draw();
});

const VIEWS = [
  [(p) => p.length === 0, experiments],
  [(p) => p[0] === "experiments" && p.length === 2, runs],
  [(p) => p[0] === "runs" && p.length === 2, run],
  [(p) => p[0] === "compare", compare],
  [(p) => p[0] === "models" && p.length <= 2, models],
];

// Draws the view `hash` names (default: the URL's).
export async function draw(hash = location.hash) {
  drawnUrl = location.href;
  current?.abort();
  const drawing = (current = new AbortController());
  // Set only when it changes: setting `hidden`, even to its value, makes the browser recompute
  // style and draw a frame, while the view's requests are on their way (on the CPU the services
  // answering them share).
  const logout = document.getElementById("logout");
  if (logout.hidden !== !token()) logout.hidden = !token();
  const r = route(hash);
  const match = VIEWS.find(([test]) => test(r.parts));
  // A view that says so keeps the previous one on screen until its own content is ready, and
  // clears the page itself: a frame of an empty page drawn while the view's data is on its way
  // takes the CPU from the services answering it.
  if (!match?.[1].clearsView) clear(view);
  if (!match) { view.append(h("p", {}, "No such page. ", h("a", { href: "#/" }, "Experiments"))); return; }
  try {
    await match[1].render(view, r, drawing.signal);
  } catch (error) {
    showError(error);
  }
}

const PUSH_URL_MS = 100;

// A click on a link to another view of the page draws it at once: setting the hash would ask
// the browser process to navigate first, then fire "hashchange" (a round trip of its own).
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href^='#/']");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey || link.target) return;
  event.preventDefault();
  const href = link.getAttribute("href");
  // The URL changes once the view is drawn (as many single-page routers do), or after
  // PUSH_URL_MS if it takes longer: pushState is work for the browser process too, which, done
  // while the view's requests are on their way, delays their answers on a busy machine. Not for
  // a view that another draw replaced meanwhile.
  const drawn = draw(href);
  const drawing = current;
  let pushed = false;
  const pushUrl = () => {
    if (pushed || drawing !== current) return;
    pushed = true;
    if (href !== location.hash) history.pushState(null, "", href);
    drawnUrl = location.href;
  };
  drawn.then(pushUrl);
  setTimeout(pushUrl, PUSH_URL_MS);
});

// Back and forward (and a hash typed or set by a script): draw what the URL now names, once.
let drawnUrl = null;
const drawIfMoved = () => { if (location.href !== drawnUrl) draw(); };
window.addEventListener("hashchange", drawIfMoved);
window.addEventListener("popstate", drawIfMoved);
draw();
