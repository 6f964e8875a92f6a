// The fleet's HTTP API (docs/SPEC.md §4) as the browser calls it: the
// session cookie authenticates (same-origin credentials), bodies are JSON
// unless a FormData or a Blob is given, errors are ApiError with the
// server's {error, code}.

import {t, has, lang} from "./i18n.js";

/** An answer that was not 2xx, or a request that never got one. */
export class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.data = data || null;
  }
}

let unauthorized = () => {};

/** Sets what happens when a call answers 401 (the session has ended). */
export function onUnauthorized(fn) { unauthorized = fn; }

/**
 * Calls the API. path is under /api/v1 unless it starts with "/whep" or
 * is absolute. opts: method, body (JSON), form (FormData), blob with type,
 * signal, quiet401 (do not treat a 401 as the end of the session).
 */
export async function api(path, opts = {}) {
  const url = path.startsWith("/api/") || path.startsWith("/whep") ? path : "/api/v1" + path;
  const init = {method: opts.method || "GET", credentials: "same-origin", headers: {"Accept": "application/json"},
    signal: opts.signal};
  if (opts.form) {
    init.body = opts.form;
  } else if (opts.blob) {
    init.body = opts.blob;
    init.headers["Content-Type"] = opts.type || opts.blob.type || "application/octet-stream";
  } else if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    init.headers["Content-Type"] = "application/json";
  }
  let r;
  try {
    r = await fetch(url, init);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", t("err.network"));
  }
  const text = await r.text().catch(() => "");
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!r.ok) {
    const code = (data && data.code) || (r.status === 401 ? "unauthorized" : "http_" + r.status);
    const err = new ApiError(r.status, code, (data && data.error) || text.trim() || r.statusText, data);
    err.retryAfter = Number(r.headers.get("Retry-After")) || 0;
    if (r.status === 401 && !opts.quiet401) unauthorized(err);
    throw err;
  }
  return data;
}

/** Query string of the non-empty values of params, with a leading "?". */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  }
  const s = u.toString();
  return s ? "?" + s : "";
}

/** A message for the user: the translated code, then the server's words. */
/**
 * A request a page can do without: its error becomes {error} (shown in
 * place) instead of failing the page; leaving the page still aborts.
 */
export function soft(p) {
  return p.catch(e => { if (aborted(e)) throw e; return {error: e}; });
}

export function errorText(e) {
  if (!e) return "";
  if (e instanceof ApiError) {
    const key = "err." + e.code;
    if (e.code === "network") return t(key);
    if (has(key)) {
      const own = t(key);
      if (!e.message || e.message === e.code) return own;
      return own + (lang() === "zh" ? "（" + e.message + "）" : " (" + e.message + ")");
    }
    return (e.message || e.code) + (e.status ? " [" + e.status + "]" : "");
  }
  return String(e.message || e);
}

/** Whether e is a fetch aborted because the page was left. */
export function aborted(e) { return !!e && e.name === "AbortError"; }
