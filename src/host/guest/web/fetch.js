// Guest side of fetch: Headers, Request, Response and fetch() (host side:
// src/host/fetch-host.ts). Minimal classes after the Fetch standard: bodies
// are whole byte buffers (no streams), `clone()` copies them.
//
// Invariant: the host is reached only through `host.fetch`/`host.abort`
// (guest functions the host made; arguments and results are copies). What
// the guest passes is reduced here to strings, string pairs and a fresh
// ArrayBuffer before it goes out; the host checks all of it again.
"use strict";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

function normalizeValue(v) {
  return `${v}`.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
}
function checkName(name) {
  name = `${name}`;
  if (!TOKEN.test(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name.slice(0, 100))}`);
  return name.toLowerCase();
}
function checkValue(value) {
  value = normalizeValue(value);
  if (/[\0\r\n]/.test(value) || /[^\x00-\xff]/.test(value)) throw new TypeError("Invalid header value");
  return value;
}

export class Headers {
  #map = new Map(); // lower-case name → combined value
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [k, v] of init) this.append(k, v);
    } else if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const list = [...pair];
        if (list.length !== 2) throw new TypeError("Headers: each pair must have a name and a value");
        this.append(list[0], list[1]);
      }
    } else if (typeof init === "object") {
      for (const key of Object.keys(init)) this.append(key, init[key]);
    } else {
      throw new TypeError("Headers: init must be an object, a list of pairs or Headers");
    }
  }
  append(name, value) {
    const n = checkName(name), v = checkValue(value);
    const prev = this.#map.get(n);
    this.#map.set(n, prev === undefined ? v : `${prev}, ${v}`);
  }
  set(name, value) {
    this.#map.set(checkName(name), checkValue(value));
  }
  get(name) {
    const v = this.#map.get(checkName(name));
    return v === undefined ? null : v;
  }
  has(name) {
    return this.#map.has(checkName(name));
  }
  delete(name) {
    this.#map.delete(checkName(name));
  }
  forEach(callback, thisArg) {
    for (const [k, v] of this) callback.call(thisArg, v, k, this);
  }
  *entries() {
    yield* [...this.#map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  *keys() {
    for (const [k] of this.entries()) yield k;
  }
  *values() {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "Headers";
  }
}

/** Body init → { bytes: Uint8Array | null, type: string | null }. */
function extractBody(body, env) {
  if (body === undefined || body === null) return { bytes: null, type: null };
  if (typeof body === "string") return { bytes: env.encode(body), type: "text/plain;charset=UTF-8" };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), type: null };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), type: null };
  const USP = env.URLSearchParams();
  if (USP && body instanceof USP) return { bytes: env.encode(`${body}`), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  return { bytes: env.encode(`${body}`), type: "text/plain;charset=UTF-8" };
}

function makeBody(env) {
  return class Body {
    #bytes;
    #used = false;
    _initBody(bytes) {
      this.#bytes = bytes;
    }
    get bodyUsed() {
      return this.#used;
    }
    get body() {
      return null; // no streams in this sandbox: read with text(), json(), arrayBuffer()
    }
    _take() {
      if (this.#used) return Promise.reject(new TypeError("Body has already been consumed"));
      this.#used = true;
      const b = this.#bytes;
      return Promise.resolve(b === null ? new Uint8Array(0) : b);
    }
    _peek() {
      if (this.#used) throw new TypeError("Body has already been consumed");
      return this.#bytes;
    }
    arrayBuffer() {
      return this._take().then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
    bytes() {
      return this._take().then((b) => new Uint8Array(b));
    }
    text() {
      return this._take().then((b) => env.decode(b));
    }
    json() {
      return this.text().then((t) => JSON.parse(t));
    }
    blob() {
      const Blob = env.Blob();
      if (!Blob) return Promise.reject(new TypeError("Blob is not available"));
      const type = this.headers.get("content-type") || "";
      return this._take().then((b) => new Blob([b], { type }));
    }
  };
}

export function makeFetch(host, config, env) {
  const Body = makeBody(env);
  let nextId = 1;

  class Request extends Body {
    #url; #method; #headers; #redirect; #signal;
    constructor(input, init = {}) {
      super();
      if (init === null || typeof init !== "object") init = {};
      let base = null;
      if (input instanceof Request) {
        base = input;
        this.#url = input.url;
      } else {
        const URLClass = env.URL();
        let href = `${input}`;
        if (URLClass) {
          try {
            href = new URLClass(href).href;
          } catch {
            throw new TypeError(`Failed to parse URL from ${href.slice(0, 200)}`);
          }
        }
        this.#url = href;
      }
      const method = `${init.method ?? base?.method ?? "GET"}`.toUpperCase();
      if (!METHODS.includes(method)) throw new TypeError(`Unsupported method: ${method.slice(0, 20)}`);
      this.#method = method;
      this.#headers = new Headers(init.headers ?? base?.headers);
      const redirect = `${init.redirect ?? base?.redirect ?? "follow"}`;
      if (redirect !== "follow" && redirect !== "error" && redirect !== "manual") throw new TypeError(`Invalid redirect mode: ${redirect.slice(0, 20)}`);
      this.#redirect = redirect;
      this.#signal = init.signal ?? base?.signal ?? null;
      let bytes = null;
      if (init.body !== undefined && init.body !== null) {
        const { bytes: b, type } = extractBody(init.body, env);
        bytes = b;
        if (type !== null && !this.#headers.has("content-type")) this.#headers.set("content-type", type);
      } else if (base) {
        bytes = base._peek();
      }
      if (bytes !== null && (method === "GET" || method === "HEAD")) throw new TypeError("Request with GET/HEAD method cannot have body");
      this._initBody(bytes);
    }
    get url() { return this.#url; }
    get method() { return this.#method; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() { return this.#signal; }
    clone() {
      return new Request(this);
    }
    get [Symbol.toStringTag]() { return "Request"; }
  }

  class Response extends Body {
    #status; #statusText; #headers; #url; #redirected;
    constructor(body = null, init = {}, meta) {
      super();
      if (init === null || typeof init !== "object") init = {};
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        if (!meta) throw new RangeError(`Invalid status: ${status}`);
      }
      this.#status = status;
      this.#statusText = `${init.statusText ?? ""}`;
      this.#headers = new Headers(init.headers);
      this.#url = meta ? meta.url : "";
      this.#redirected = meta ? meta.redirected : false;
      if (meta) {
        this._initBody(meta.bytes);
      } else {
        const { bytes, type } = extractBody(body, env);
        if (type !== null && !this.#headers.has("content-type")) this.#headers.set("content-type", type);
        this._initBody(bytes);
      }
    }
    static json(data, init = {}) {
      const r = new Response(JSON.stringify(data), init);
      r.headers.set("content-type", "application/json");
      return r;
    }
    static error() {
      return new Response(null, { status: 0 }, { url: "", redirected: false, bytes: null });
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get headers() { return this.#headers; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    get type() { return "basic"; }
    clone() {
      const bytes = this._peek();
      return new Response(null, { status: this.#status, statusText: this.#statusText, headers: this.#headers }, { url: this.#url, redirected: this.#redirected, bytes: bytes === null ? null : new Uint8Array(bytes) });
    }
    get [Symbol.toStringTag]() { return "Response"; }
  }

  function abortError(signal) {
    if (signal && signal.reason !== undefined) return signal.reason;
    return new env.DOMException("This operation was aborted", "AbortError");
  }

  /** What would grant `url`'s origin (the exact flag, as the CLI's refusals name it). */
  function notGranted(url) {
    let origin = "";
    try {
      origin = new (env.URL())(url).origin;
    } catch {
      // named generically below
    }
    return origin && origin !== "null"
      ? `${origin} is not granted (add it to okFetchOrigins; CLI: --allow-net=${origin})`
      : "grant origins with okFetchOrigins (CLI: --allow-net=<origin>)";
  }

  function fetch(input, init) {
    return new Promise((resolve, reject) => {
      const request = new Request(input, init);
      if (!config.granted) throw new TypeError(`fetch is not allowed: ${notGranted(request.url)}`);
      const signal = request.signal;
      if (signal && signal.aborted) throw abortError(signal);
      const bytes = request._peek();
      const body = bytes === null ? undefined : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const id = nextId++;
      let done = false;
      const onAbort = () => {
        if (done) return;
        done = true;
        host.abort(id);
        reject(abortError(signal));
      };
      if (signal && typeof signal.addEventListener === "function") signal.addEventListener("abort", onAbort);
      const headers = [...request.headers];
      let pending;
      try {
        pending = host.fetch(id, request.url, request.method, headers, body, request.redirect);
      } catch (e) {
        // The boundary refuses arguments over limits.resultBytes before the host sees them.
        if (e && /too large to copy/.test(`${e.message}`)) throw new TypeError("fetch: the request (body and headers) is larger than limits.resultBytes");
        throw e;
      }
      pending.then(
        (r) => {
          if (signal && typeof signal.removeEventListener === "function") signal.removeEventListener("abort", onAbort);
          if (done) return;
          done = true;
          const h = new Headers();
          for (const [k, v] of r.headers) {
            try { h.append(k, v); } catch { /* a value the guest's Headers refuses is left out */ }
          }
          resolve(new Response(null, { status: r.status, statusText: r.statusText, headers: h }, { url: r.url, redirected: r.redirected, bytes: new Uint8Array(r.body) }));
        },
        (e) => {
          if (signal && typeof signal.removeEventListener === "function") signal.removeEventListener("abort", onAbort);
          if (done) return;
          done = true;
          reject(e && e.name === "AbortError" ? abortError(signal) : e);
        },
      );
    });
  }

  return { fetch, Headers, Request, Response };
}
