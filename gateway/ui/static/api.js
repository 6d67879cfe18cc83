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

export async function request(method, path, { query, body, signal } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    }
    if ([...params].length) url += `?${params}`;
  }
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
    throw new ApiError(0, "UNREACHABLE", "The mlgrpc gateway does not answer (is it running?).");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : {}; } catch { data = null; }
  if (!response.ok) {
    const message = data?.message || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, data?.error_code || "HTTP_" + response.status, message);
  }
  return data;
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
    throw new ApiError(0, "UNREACHABLE", "The mlgrpc gateway does not answer (is it running?).");
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
