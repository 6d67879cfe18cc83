// Calls to the gateway: MLflow's REST endpoints and the UI's /ui/api routes. Every failure is an
// ApiError with a message for a person (the service's own message, or what went wrong on the way).
const TOKEN_KEY = "mlgrpc.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  get unauthenticated() { return this.status === 401; }
}

export function token() { return localStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const result = { ...extra };
  if (token()) result.Authorization = `Bearer ${token()}`;
  return result;
}

const UNREACHABLE = "The mlgrpc gateway does not answer (is it running?).";

// The query's fields without the empty ones; a list is the field repeated.
function queryFields(query) {
  const fields = {};
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    fields[k] = Array.isArray(v) ? v.map(String) : String(v);
  }
  return fields;
}

export async function request(method, path, { query, body, signal } = {}) {
  const fields = queryFields(query);
  const answer = overChannel(method, path, fields, body, signal);
  if (answer) return answer;
  let url = path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const item of [].concat(v)) params.append(k, item);
  if ([...params].length) url += `?${params}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      signal,
      headers: headers(body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "UNREACHABLE", UNREACHABLE);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : {}; } catch { data = null; }
  if (!response.ok) throw errorOf(response.status, data, response.statusText);
  return data;
}

function errorOf(status, data, statusText = "") {
  const message = data?.message || `${status} ${statusText}`.trim();
  return new ApiError(status, data?.error_code || "HTTP_" + status, message);
}

// The page's JSON calls travel as messages on one WebSocket once it is open
// (gateway/ui/channel.py): a fetch costs the browser 2–4 ms more per call, which the runs
// table's first page is measured by. Before the channel opens, after it closes, or where it
// cannot open (a proxy without WebSockets), they go over fetch, with the same answers.
const channel = { socket: null, pending: new Map(), nextId: 1, retryAt: 0 };
const CHANNEL_RETRY_MS = 5000;

export function openChannel() {
  if (channel.socket || Date.now() < channel.retryAt || typeof WebSocket !== "function") return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ui/api/channel`);
  channel.socket = socket;
  socket.onmessage = (event) => {
    const reply = JSON.parse(event.data);
    const call = channel.pending.get(reply.id);
    channel.pending.delete(reply.id);
    call?.(reply);
  };
  socket.onclose = () => {
    channel.socket = null;
    channel.retryAt = Date.now() + CHANNEL_RETRY_MS;
    const calls = [...channel.pending.values()];
    channel.pending.clear();
    for (const call of calls) call(null);
  };
}

// The answer over the channel, or null when it is not open (the caller fetches instead).
function overChannel(method, path, query, body, signal) {
  const socket = channel.socket;
  if (!socket || socket.readyState !== socket.OPEN) {
    openChannel();
    return null;
  }
  if (signal?.aborted) return Promise.reject(new DOMException("The view changed.", "AbortError"));
  const id = channel.nextId++;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      channel.pending.delete(id);
      reject(new DOMException("The view changed.", "AbortError"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    channel.pending.set(id, (reply) => {
      signal?.removeEventListener("abort", onAbort);
      if (reply === null) reject(new ApiError(0, "UNREACHABLE", UNREACHABLE));
      else if (reply.status >= 400) reject(errorOf(reply.status, reply.body));
      else resolve(typeof reply.body === "string" ? null : reply.body ?? {});
    });
    const authorization = token() ? `Bearer ${token()}` : "";
    socket.send(JSON.stringify({ id, method, path, query, body: body ?? null, authorization }));
  });
}

export const mlflow = {
  get: (endpoint, query, opts = {}) => request("GET", `/api/2.0/mlflow/${endpoint}`, { ...opts, query }),
  post: (endpoint, body, opts = {}) => request("POST", `/api/2.0/mlflow/${endpoint}`, { ...opts, body }),
};

export const ui = {
  get: (path, query, opts = {}) => request("GET", `/ui/api/${path}`, { ...opts, query }),
  post: (path, body, opts = {}) => request("POST", `/ui/api/${path}`, { ...opts, body }),
};

// The bytes of an artifact, as a Blob (with the caller's token, which a plain link cannot send).
export async function artifactBlob(run, path) {
  const url = artifactUrl(run, path);
  let response;
  try {
    response = await fetch(url, { headers: headers() });
  } catch {
    throw new ApiError(0, "UNREACHABLE", UNREACHABLE);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).message || message; } catch { /* not JSON */ }
    throw new ApiError(response.status, "HTTP_" + response.status, message);
  }
  return response.blob();
}

export function artifactUrl(run, path) {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `/api/2.0/mlflow-artifacts/artifacts/${run.info.experiment_id}/${run.info.run_id}/artifacts/${encoded}`;
}

// Server-sent events read with fetch (EventSource cannot send the Authorization header):
// onEvent(name, data) per event; resolves when the stream ends.
export async function streamEvents(path, onEvent, signal) {
  const response = await fetch(path, { headers: headers(), signal });
  if (!response.ok) {
    let message = `${response.status}`;
    try { message = (await response.json()).message || message; } catch { /* not JSON */ }
    throw new ApiError(response.status, "HTTP_" + response.status, message);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

openChannel();
