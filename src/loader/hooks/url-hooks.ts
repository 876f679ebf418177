/**
 * {@link UrlHooks}: guest modules fetched over HTTP(S) from allowed origins only
 * (the seed's "importing applets from a URL").
 *
 * Threats closed:
 * - **Other hosts** (SSRF: a guest importing `http://169.254.169.254/…` or an
 *   intranet service): every URL, including every redirect target, must be
 *   `http:`/`https:` and on an origin in `allow`. Redirects are followed by hand
 *   (`redirect: "manual"`) so each hop is checked before it is requested.
 * - **Resource exhaustion**: every request has a deadline (`timeoutMs`, which
 *   also covers reading the body) and a size cap (`maxBytes`): a `Content-Length`
 *   over the cap is refused up front, and a body is streamed and aborted as soon
 *   as it passes the cap. At most {@link MAX_REDIRECTS} hops.
 * - **Ambient credentials**: no cookies or auth headers are ever sent (Node's
 *   `fetch` has no cookie jar, and we add no headers).
 *
 * @packageDocumentation
 */

import { ModuleNotFoundError, RestrictedError } from "../../host/errors.js";
import { originRefusal, parseOrigins } from "./net-policy.js";
import type { LoadedModule, ModuleFormat, ResolveKind, RHooks } from "../types.js";

/** Options of {@link UrlHooks}. */
export interface UrlHooksOptions {
  /** The URL that root-level relative imports resolve against, e.g. `http://127.0.0.1:8080/app/`. */
  readonly base: string;
  /**
   * Origins modules may come from, e.g. `["http://127.0.0.1:8080"]`. Nothing else
   * is fetched — not even `base`'s origin unless it is listed.
   */
  readonly allow: readonly string[];
  /** Largest module body, in bytes. Default 5 MB. */
  readonly maxBytes?: number;
  /** Deadline for each request, including reading its body, in ms. Default 10 s. */
  readonly timeoutMs?: number;
}

/** Redirect hops followed before giving up. */
export const MAX_REDIRECTS = 10;
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/** A fetched module: its final URL and text. */
interface Fetched {
  readonly url: string;
  readonly source: string;
  readonly contentType: string;
}

/**
 * Hooks that fetch modules with Node's global `fetch`.
 *
 * - Ids are full URLs (the URL *after* redirects, without `#hash`), so a module's
 *   relative imports resolve against where it really came from.
 * - Relative (`./x.js`, `../x.js`, `/x.js`) and absolute URL specifiers are
 *   supported. **Bare specifiers (`lodash`) are not found**: there is no
 *   `node_modules` over HTTP, and guessing a CDN would fetch code the host never
 *   chose. Import a full URL instead.
 * - `resolve` fetches (so a 404 is "not found", and redirects give the canonical
 *   id); sources are cached per hooks instance, so `load` does not fetch again.
 * - Format: `.mjs`/`.mts` → module, `.cjs`/`.cts` → commonjs, `.json` or a JSON
 *   content type → json; `.ts`/`.mts`/`.cts` or a TypeScript content type →
 *   transpiled; otherwise the loader detects ESM syntax.
 * - No `fs`: a guest has no file system with these hooks.
 */
export class UrlHooks implements RHooks {
  /** The directory of `base`: root-level relative imports resolve against it. */
  readonly cwd: string;

  readonly #base: URL;
  readonly #allow: ReadonlySet<string>;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  /** Requested URL → fetch in flight or done (final URL + source). Failed fetches are not kept. */
  readonly #byRequest = new Map<string, Promise<Fetched | undefined>>();
  /** Final URL (the id) → fetched module. */
  readonly #byId = new Map<string, Fetched>();

  constructor(options: UrlHooksOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("UrlHooks: options { base, allow } are required");
    let base: URL;
    try {
      base = new URL(options.base);
    } catch {
      throw new TypeError(`UrlHooks: base ${JSON.stringify(options.base)} is not a URL`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new TypeError("UrlHooks: base must be an http: or https: URL");
    this.#allow = parseOrigins(options.allow, "UrlHooks: allow");
    this.#base = base;
    this.cwd = new URL(".", base).href;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.#maxBytes > 0)) throw new TypeError("UrlHooks: maxBytes must be a positive number");
    if (!(this.#timeoutMs > 0)) throw new TypeError("UrlHooks: timeoutMs must be a positive number");
  }

  /** {@inheritDoc RHooks.resolve} */
  async resolve(specifier: string, referrer: string | undefined, _kind: ResolveKind): Promise<string | undefined> {
    if (typeof specifier !== "string" || specifier.includes("\0")) {
      throw new RestrictedError(`module specifier ${JSON.stringify(String(specifier))} (contains a NUL byte)`, "remove the NUL byte");
    }
    const isRelative = specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
    let url: URL;
    if (isRelative) {
      url = new URL(specifier, this.#referrerUrl(referrer));
    } else {
      try {
        url = new URL(specifier);
      } catch {
        return undefined; // bare specifier: not found (see the class comment)
      }
    }
    url.hash = "";
    this.#checkAllowed(url);
    const fetched = await this.#fetchCached(url.href);
    return fetched?.url;
  }

  /** {@inheritDoc RHooks.load} */
  async load(id: string): Promise<LoadedModule> {
    let fetched = this.#byId.get(id);
    if (fetched === undefined) {
      let url: URL;
      try {
        url = new URL(id);
      } catch {
        throw new ModuleNotFoundError(String(id), undefined);
      }
      this.#checkAllowed(url);
      fetched = await this.#fetchCached(url.href);
      if (fetched === undefined) throw new ModuleNotFoundError(id, undefined);
    }
    const { format, typescript } = formatOf(new URL(fetched.url).pathname, fetched.contentType);
    return { id, source: fetched.source, format, typescript };
  }

  /** The referrer as a URL; `base` when there is none (or it is not a URL). */
  #referrerUrl(referrer: string | undefined): URL {
    if (referrer !== undefined) {
      try {
        return new URL(referrer);
      } catch {
        // not a URL id (e.g. `<eval>`): fall through to base
      }
    }
    return this.#base;
  }

  /** Throw unless `url` is http(s) on an allowed origin, with no embedded credentials. */
  #checkAllowed(url: URL): void {
    if (url.username !== "" || url.password !== "") {
      // Credentials in a guest-chosen URL would be sent to the server on the guest's behalf.
      throw new RestrictedError("a module URL with embedded credentials", "remove user:password@ from the URL");
    }
    if (originRefusal(url, this.#allow) !== undefined) {
      throw new RestrictedError(`module URL ${url.href} (origin ${url.origin} is not allowed)`, `add "${url.origin}" to UrlHooks' allow list`);
    }
  }

  /** Fetch once per requested URL; concurrent requests share one fetch; failures are retried next time. */
  #fetchCached(href: string): Promise<Fetched | undefined> {
    let pending = this.#byRequest.get(href);
    if (pending === undefined) {
      pending = this.#fetchFollowing(href).then((f) => {
        if (f !== undefined) this.#byId.set(f.url, f);
        return f;
      });
      pending.catch(() => this.#byRequest.delete(href));
      this.#byRequest.set(href, pending);
    }
    return pending;
  }

  /** Fetch `href`, following redirects within allowed origins. `undefined` on 404/410. */
  async #fetchFollowing(href: string): Promise<Fetched | undefined> {
    let url = new URL(href);
    for (let hop = 0; ; hop++) {
      const res = await this.#request(url);
      if (res.kind === "redirect") {
        if (hop >= MAX_REDIRECTS) throw new Error(`fetching ${href} failed: more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(res.location, url);
        next.hash = "";
        this.#checkAllowed(next);
        url = next;
        continue;
      }
      if (res.kind === "missing") return undefined;
      return { url: url.href, source: res.source, contentType: res.contentType };
    }
  }

  /** One request with the deadline and size cap. */
  async #request(url: URL): Promise<{ kind: "redirect"; location: string } | { kind: "missing" } | { kind: "ok"; source: string; contentType: string }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    const timeoutError = () => new Error(`fetching ${url.href} took longer than UrlHooks timeoutMs (${this.#timeoutMs} ms)`);
    try {
      let res: Response;
      try {
        res = await fetch(url, { redirect: "manual", signal: controller.signal, credentials: "omit" });
      } catch (e) {
        if (controller.signal.aborted) throw timeoutError();
        throw new Error(`fetching ${url.href} failed: ${(e as Error).message}`);
      }
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => {});
        const location = res.headers.get("location");
        if (location === null) throw new Error(`fetching ${url.href} failed: HTTP ${res.status} without a Location header`);
        return { kind: "redirect", location };
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => {});
        return { kind: "missing" };
      }
      if (res.status < 200 || res.status > 299) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`fetching ${url.href} failed: HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get("content-length") ?? NaN);
      if (declared > this.#maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw this.#tooLarge(url);
      }
      const body = await this.#readCapped(res, url, controller, timeoutError);
      const text = new TextDecoder().decode(body);
      return { kind: "ok", source: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, contentType: res.headers.get("content-type") ?? "" };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Read the body, aborting the request as soon as it passes `maxBytes`. */
  async #readCapped(res: Response, url: URL, controller: AbortController, timeoutError: () => Error): Promise<Uint8Array> {
    if (res.body === null) return new Uint8Array(0);
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.#maxBytes) {
          controller.abort();
          await reader.cancel().catch(() => {});
          throw this.#tooLarge(url);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof RestrictedError) throw e;
      if (controller.signal.aborted) throw timeoutError();
      throw new Error(`fetching ${url.href} failed: ${(e as Error).message}`);
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }

  #tooLarge(url: URL): RestrictedError {
    return new RestrictedError(`module URL ${url.href} (larger than UrlHooks maxBytes, ${this.#maxBytes} bytes)`, "raise UrlHooks' maxBytes");
  }
}

/** Format and TypeScript flag from the URL path's extension, then the content type. */
function formatOf(pathname: string, contentType: string): { format: ModuleFormat | undefined; typescript: boolean } {
  const ext = /\.[A-Za-z0-9]+$/.exec(pathname)?.[0]?.toLowerCase() ?? "";
  const mime = contentType.split(";")[0]!.trim().toLowerCase();
  const tsMime = mime === "application/typescript" || mime === "text/typescript";
  const typescript = ext === ".ts" || ext === ".mts" || ext === ".cts" || (ext === "" && tsMime);
  switch (ext) {
    case ".mjs":
    case ".mts":
      return { format: "module", typescript };
    case ".cjs":
    case ".cts":
      return { format: "commonjs", typescript };
    case ".json":
      return { format: "json", typescript: false };
  }
  if (ext === "" && (mime === "application/json" || mime.endsWith("+json"))) return { format: "json", typescript: false };
  return { format: undefined, typescript };
}
