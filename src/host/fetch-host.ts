/**
 * Host side of the guest's `fetch` (guest side: src/host/guest/web/fetch.js).
 *
 * Invariant: the guest reaches the network only through {@link FetchHost.api},
 * and only to origins the host granted (`okFetchOrigins`). Every hop is checked
 * before it is requested — redirects are followed here by hand, each target
 * checked like the first URL (the same policy code as `UrlHooks`,
 * src/loader/hooks/net-policy.ts). A private, loopback or link-local address
 * (whether a literal or what a name resolves to, checked at connect time so
 * DNS rebinding cannot slip past) is refused unless that very origin was
 * granted by name. Every request is bounded: request and response bodies by
 * `maxBytes` (a declared Content-Length over it is refused up front, a stream
 * is cut as soon as it passes it), response headers by
 * {@link MAX_HEADER_BYTES}, the whole fetch (all hops and the body) by
 * `timeoutMs`, and at most {@link MAX_IN_FLIGHT} fetches per sandbox at once.
 * The guest gets copies only: numbers, strings, string pairs and a fresh
 * ArrayBuffer. No cookies or credentials are added; none are kept.
 *
 * @packageDocumentation
 */
import type { LookupAddress } from "node:dns";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { isIP, type LookupFunction } from "node:net";
import { MAX_REDIRECTS } from "../loader/hooks/url-hooks.js";
import { isPrivateAddress, originGranted, originRefusal } from "../loader/hooks/net-policy.js";

/** Largest response header block (Node's parser refuses more). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Fetches one sandbox may have in flight. */
export const MAX_IN_FLIGHT = 16;
const MAX_REQUEST_HEADERS = 256;
const MAX_REQUEST_HEADER_CHARS = 64 * 1024;
const MAX_URL = 16 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
/** Request headers the host sets or that would let the guest steer the connection; the guest's are dropped (as browsers do). */
const FORBIDDEN = new Set(["host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "expect", "accept-encoding", "cookie", "cookie2"]);
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** What the host allows; see `okFetchOrigins` and the module comment. */
export interface FetchPolicy {
  /** Canonical origins (`URL.origin`), or `"*"` for any public origin. */
  readonly origins: ReadonlySet<string>;
  /** Largest request or response body, in bytes. */
  readonly maxBytes: number;
  /** Deadline of one whole fetch (all hops and the body), in ms. */
  readonly timeoutMs: number;
}

/** What the guest receives for one response (all copies). */
export interface FetchResult {
  status: number;
  statusText: string;
  headers: [string, string][];
  url: string;
  redirected: boolean;
  body: ArrayBuffer;
}

function fail(message: string): TypeError {
  return new TypeError(`fetch failed: ${message}`.slice(0, 600));
}

/** The fetches of one sandbox. */
export class FetchHost {
  readonly #policy: FetchPolicy;
  readonly #inFlight = new Map<number, AbortController>();

  /** The two host functions the guest side calls (copied into the guest as guest functions). */
  readonly api: { fetch: (...args: unknown[]) => Promise<FetchResult>; abort: (id: unknown) => void };

  constructor(policy: FetchPolicy) {
    this.#policy = policy;
    this.api = {
      fetch: (...args: unknown[]) => this.#fetch(args),
      abort: (id: unknown) => {
        if (typeof id === "number") this.#inFlight.get(id)?.abort();
      },
    };
  }

  /** Abort every fetch in flight (the sandbox is going away). */
  dispose(): void {
    for (const c of this.#inFlight.values()) c.abort();
    this.#inFlight.clear();
  }

  async #fetch(args: unknown[]): Promise<FetchResult> {
    const [id, href, method, headers, body, redirect] = args;
    if (this.#policy.origins.size === 0) throw new TypeError("fetch is not allowed: grant origins with okFetchOrigins (CLI: --allow-net=<origin>)");
    if (typeof id !== "number" || !Number.isSafeInteger(id) || this.#inFlight.has(id)) throw new TypeError("bad fetch call");
    if (typeof href !== "string" || href.length > MAX_URL) throw new TypeError(`fetch: the URL is not a string of at most ${MAX_URL} characters`);
    if (typeof method !== "string" || !METHODS.has(method)) throw new TypeError("fetch: unsupported method");
    if (redirect !== "follow" && redirect !== "error" && redirect !== "manual") throw new TypeError("fetch: redirect must be 'follow', 'error' or 'manual'");
    const headerList = checkHeaders(headers);
    let bytes: Uint8Array | undefined;
    if (body !== undefined && body !== null) {
      if (!(body instanceof ArrayBuffer)) throw new TypeError("bad fetch call");
      if (body.byteLength > this.#policy.maxBytes) throw new TypeError(`fetch: the request body is larger than ${this.#policy.maxBytes} bytes (limits.resultBytes)`);
      bytes = new Uint8Array(body);
    }
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      throw new TypeError(`fetch: invalid URL ${JSON.stringify(href.slice(0, 200))}`);
    }
    if (this.#inFlight.size >= MAX_IN_FLIGHT) throw new TypeError(`fetch: at most ${MAX_IN_FLIGHT} fetches in flight per sandbox`);
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    const timer = setTimeout(() => controller.abort(new Error("timeout")), this.#policy.timeoutMs);
    try {
      return await this.#follow(url, method, headerList, bytes, redirect, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) {
        if (controller.signal.reason instanceof Error && controller.signal.reason.message === "timeout") {
          throw fail(`took longer than ${this.#policy.timeoutMs} ms (limits.wallTimeMs)`);
        }
        const abort = new Error("the fetch was aborted");
        abort.name = "AbortError";
        throw abort;
      }
      throw error;
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(id);
    }
  }

  async #follow(first: URL, method: string, headers: [string, string][], body: Uint8Array | undefined, redirect: string, signal: AbortSignal): Promise<FetchResult> {
    let url = first;
    for (let hop = 0; ; hop++) {
      this.#check(url);
      const res = await this.#request(url, method, headers, body, signal, redirect !== "manual");
      if (res.location === undefined) return { ...res.result, redirected: hop > 0 };
      if (redirect === "error") throw fail(`${url.href} redirected and redirect is 'error'`);
      if (hop >= MAX_REDIRECTS) throw fail(`more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(res.location, url);
      } catch {
        throw fail("a redirect to an invalid URL");
      }
      const status = res.result.status;
      if (((status === 301 || status === 302) && method === "POST") || (status === 303 && method !== "HEAD" && method !== "GET")) {
        method = "GET";
        body = undefined;
        headers = headers.filter(([n]) => n !== "content-type" && n !== "content-encoding" && n !== "content-language" && n !== "content-location");
      }
      // As the Fetch standard: credentials the guest set do not follow it to another origin.
      if (next.origin !== url.origin) headers = headers.filter(([n]) => n !== "authorization" && n !== "proxy-authorization");
      url = next;
    }
  }

  /** Throw unless the policy allows `url`. */
  #check(url: URL): void {
    const refusal = originRefusal(url, this.#policy.origins);
    if (refusal === "credentials") throw new TypeError("fetch: a URL with embedded credentials (user:password@) is refused");
    if (refusal === "origin") throw new TypeError(`fetch: origin ${url.origin.slice(0, 200)} is not granted (add it to okFetchOrigins; CLI: --allow-net=${url.origin.slice(0, 200)})`);
    if (!originGranted(url, this.#policy.origins) && isIP(bare(url.hostname)) !== 0 && isPrivateAddress(bare(url.hostname))) {
      throw new TypeError(`fetch: ${url.origin.slice(0, 200)} is a private address (grant that origin itself in okFetchOrigins to allow it)`);
    }
  }

  /** One HTTP request. A followed redirect answers its Location without a body. */
  async #request(url: URL, method: string, headers: [string, string][], body: Uint8Array | undefined, signal: AbortSignal, follow: boolean): Promise<{ result: Omit<FetchResult, "redirected">; location?: string }> {
    // Loaded on first use: most sandboxes never fetch, and the CLI's start-up is measured (issue 13).
    const [{ lookup: dnsLookup }, { request: send }] = await Promise.all([import("node:dns"), url.protocol === "https:" ? import("node:https") : import("node:http")]);
    const maxBytes = this.#policy.maxBytes;
    const explicit = originGranted(url, this.#policy.origins);
    // Names are resolved here so every address is judged before the socket connects to it.
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, "", 4);
        const list = addresses ?? [];
        if (!explicit && list.some((a) => isPrivateAddress(a.address))) {
          return callback(Object.assign(new Error(`${hostname} resolves to a private address (grant ${url.origin} itself in okFetchOrigins to allow it)`), { code: "EREFUSED" }), "", 4);
        }
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        const first = list[0];
        if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
        callback(null, first.address, first.family);
      });
    };
    const out: OutgoingHttpHeaders = { "user-agent": "rexec-fetch", accept: "*/*", "accept-encoding": "identity" };
    for (const [name, value] of headers) {
      const prev = out[name];
      out[name] = prev === undefined || name === "user-agent" || name === "accept" ? value : `${String(prev)}, ${value}`;
    }
    if (body !== undefined) out["content-length"] = String(body.byteLength);
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (error: Error | undefined, value?: { result: Omit<FetchResult, "redirected">; location?: string }) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(value!);
      };
      const req = send(url, { method, headers: out, lookup, maxHeaderSize: MAX_HEADER_BYTES, signal, agent: false });
      req.on("error", (e) => done(signal.aborted ? e : fail(`${url.origin}: ${e.message}`)));
      req.on("response", (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        const base = { status, statusText: (res.statusMessage ?? "").slice(0, 1024), headers: pairs, url: url.href };
        const location = res.headers.location;
        if (follow && status >= 300 && status < 400 && [301, 302, 303, 307, 308].includes(status) && typeof location === "string") {
          done(undefined, { result: { ...base, body: new ArrayBuffer(0) }, location });
          res.destroy();
          return;
        }
        const declared = Number(res.headers["content-length"] ?? NaN);
        if (declared > maxBytes) {
          done(fail(`the response body is larger than ${maxBytes} bytes (limits.resultBytes)`));
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on("data", (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > maxBytes) {
            // Settle first: destroying emits "aborted" synchronously.
            done(fail(`the response body is larger than ${maxBytes} bytes (limits.resultBytes)`));
            res.destroy();
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on("error", (e) => done(signal.aborted ? e : fail(`${url.origin}: ${e.message}`)));
        res.on("aborted", () => done(signal.aborted ? new Error("aborted") : fail(`${url.origin}: the connection closed early`)));
        res.on("end", () => {
          const all = Buffer.concat(chunks, total);
          const copy = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
          done(undefined, { result: { ...base, body: copy } });
        });
      });
      req.end(body === undefined || method === "GET" || method === "HEAD" ? undefined : Buffer.from(body));
    });
  }
}

function bare(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/** The guest's header list, checked: name/value strings, tokens, no CR/LF/NUL, bounded; forbidden names dropped. */
function checkHeaders(value: unknown): [string, string][] {
  if (!Array.isArray(value) || value.length > MAX_REQUEST_HEADERS) throw new TypeError(`fetch: at most ${MAX_REQUEST_HEADERS} request headers`);
  const out: [string, string][] = [];
  let chars = 0;
  for (const pair of value as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") throw new TypeError("bad fetch call");
    const name = pair[0].toLowerCase();
    const v = pair[1];
    chars += name.length + v.length;
    if (chars > MAX_REQUEST_HEADER_CHARS) throw new TypeError(`fetch: request headers longer than ${MAX_REQUEST_HEADER_CHARS} characters`);
    if (!TOKEN.test(name) || BAD_VALUE.test(v) || /[^\x00-\xff]/.test(v)) throw new TypeError("fetch: invalid header name or value");
    if (FORBIDDEN.has(name) || name.startsWith("proxy-") || name.startsWith("sec-")) continue;
    out.push([name, v]);
  }
  return out;
}
