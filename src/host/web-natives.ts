/**
 * Host side of the guest's web-standard globals (src/host/guest/web-globals.js):
 * the one raw native behind URL, TextEncoder, crypto, Intl, Buffer and friends.
 *
 * Invariant: the native reads only primitives and fresh ArrayBuffers the guest
 * setup made, checks each one's type and size before reading it (strings by
 * their length first), and answers with copies — fresh strings, numbers,
 * ArrayBuffers and plain objects — or with values of the guest's own realm (a
 * bundle evaluated in it, the `buffer` builtin's exports). No host function or
 * object reaches the guest. Everything runs inside a call, under its CPU budget
 * (a raw native does not pause it), and each piece of host work is bounded:
 * 65 536 random bytes, {@link DIGEST_MAX_BYTES} hashed bytes, short JSON specs
 * for Intl. The one exception to "raw": the `fetch` op hands the guest the two
 * host functions of a {@link FetchHost} (only when origins are granted) as
 * ordinary copied-in guest functions, whose arguments and async results cross
 * by copy like any host function's (see src/host/fetch-host.ts for its checks).
 *
 * @packageDocumentation
 */
import { createHash, randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { GuestThrow, EngineFault, type Engine, type GuestRef } from "../engine/engine.js";
import type { GuestRealm } from "../boundary/realm.js";
import type { FetchHost } from "./fetch-host.js";

/** The guest setup, evaluated when a realm starts (minified in dist/). */
export const WEB_GLOBALS_SOURCE = readFileSync(new URL("./guest/web-globals.js", import.meta.url), "utf8");
/** Names of the globals this module provides (each can be removed with `nokBuiltinNames`). */
export const WEB_GLOBAL_NAMES = [
  "URL", "URLSearchParams", "atob", "btoa", "structuredClone", "TextEncoder", "TextDecoder",
  "Event", "EventTarget", "AbortController", "AbortSignal", "crypto", "Intl", "Buffer", "DOMException", "Blob",
  "fetch", "Headers", "Request", "Response",
] as const;

/** Most bytes one `crypto.subtle.digest` call hashes (32 MiB): bounded host work per call. */
export const DIGEST_MAX_BYTES = 32 * 1024 * 1024;
/** The Web Crypto bound on one `getRandomValues` call. */
const RANDOM_MAX_BYTES = 65536;
const DIGESTS: Record<string, string> = { "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

// `../../dist/web/` is the same directory from src/host (tsx) and dist/host.
const WEB_DIR = new URL("../../dist/web/", import.meta.url);
const BUNDLES = new Set(["url", "base64", "clone", "encoding", "events", "crypto", "intl", "blob", "fetch"]);
const bundleSources = new Map<string, string>();

/** What the native needs from the RExec that owns the realm. */
export interface WebNativesContext {
  readonly realm: GuestRealm;
  readonly nokBuiltinNames: readonly string[];
  /** True when the guest may `require("buffer")`: then the global Buffer is that module's. */
  readonly bufferAllowed: boolean;
  /** The exports of a builtin module, as the guest's require() gives them (inside a call). */
  requireBuiltin(engine: Engine, name: string): GuestRef;
  /**
   * Where crypto's random bytes come from (default: Node's CSPRNG). A
   * deterministic mode passes a seeded generator here; it receives a validated
   * count (0…65 536) and must return exactly that many bytes.
   */
  readonly randomBytes?: (count: number) => Uint8Array;
  /** The guest's fetch (src/host/fetch-host.ts); absent when no origin is granted. */
  readonly fetchHost?: FetchHost;
}

/** Install the web globals' accessors into a fresh realm (before the prelude and any guest code). */
export async function installWebGlobals(ctx: WebNativesContext): Promise<void> {
  // The configuration is written into this realm's copy of the source as a JSON
  // literal rather than fetched by a native call: that call cost more than the
  // whole setup. JSON.stringify escapes every name (nokBuiltinNames are host strings).
  const nok = ctx.nokBuiltinNames.filter((name) => (WEB_GLOBAL_NAMES as readonly string[]).includes(name));
  const config = { nokBuiltinNames: nok, buffer: ctx.bufferAllowed, digestMax: DIGEST_MAX_BYTES, fetch: ctx.fetchHost !== undefined };
  const source = `(function (native) { return (\n${WEB_GLOBALS_SOURCE}\n)(native, ${JSON.stringify(config)}); })`;
  await ctx.realm.installRaw(source, "<rexec:web>", (engine, args) => webNative(engine, args, ctx), []);
}

/** A guest error with a fixed name and a bounded message. */
class WebError extends Error {
  constructor(readonly guestName: "TypeError" | "RangeError" | "Error", message: string) {
    super(message);
  }
}

function webNative(engine: Engine, args: readonly GuestRef[], ctx: WebNativesContext): GuestRef | undefined {
  const { realm } = ctx;
  try {
    const op = stringArg(engine, args, 0, 16);
    switch (op) {
      case "bundle":
        return engine.evalScript(bundleSource(stringArg(engine, args, 1, 16)), `<rexec:web/${stringArg(engine, args, 1, 16)}>`);
      case "buffer":
        return ctx.requireBuiltin(engine, "buffer");
      case "fetch":
        // Two host functions, copied in as guest functions (async: the guest awaits a copy of the response).
        if (!ctx.fetchHost) throw new WebError("TypeError", "fetch is not allowed: grant origins with okFetchOrigins (CLI: --allow-net=<origin>)");
        return realm.copyInto(engine, ctx.fetchHost.api);
      case "random": {
        const n = numberArg(engine, args, 1);
        if (!Number.isInteger(n) || n < 0 || n > RANDOM_MAX_BYTES) throw new WebError("RangeError", `crypto: ${RANDOM_MAX_BYTES} random bytes at most per call`);
        const bytes = ctx.randomBytes ? ctx.randomBytes(n) : randomFillSync(new Uint8Array(n));
        if (!(bytes instanceof Uint8Array) || bytes.byteLength !== n) throw new WebError("Error", "crypto: the host's random source failed");
        return engine.newArrayBuffer(bytes);
      }
      case "digest":
        return engine.newArrayBuffer(digest(engine, args));
      case "intl":
        return realm.copyInto(engine, intlCall(engine, args));
      // Bulk text work the guest would do a byte at a time (seconds per megabyte
      // in the interpreter): one copy each way instead.
      case "utf8enc":
        return engine.newArrayBuffer(Buffer.from(wholeString(engine, args[1]), "utf8"));
      case "utf8dec": {
        const bytes = bufferArg(engine, args[1]);
        const flags = numberArg(engine, args, 2);
        // fatal → TypeError("The encoded data was not valid for encoding utf-8"), as the standard's.
        return realm.copyInto(engine, new TextDecoder("utf-8", { fatal: (flags & 1) !== 0, ignoreBOM: (flags & 2) !== 0 }).decode(bytes));
      }
      case "atob": {
        const text = wholeString(engine, args[1]);
        if (!BASE64.test(text)) throw new WebError("TypeError", "bad web call");
        return realm.copyInto(engine, Buffer.from(text, "base64").toString("latin1"));
      }
      case "btoa": {
        const text = wholeString(engine, args[1]);
        if (!LATIN1.test(text)) throw new WebError("TypeError", "bad web call");
        return realm.copyInto(engine, Buffer.from(text, "latin1").toString("base64"));
      }
      default:
        throw new WebError("TypeError", "bad web call");
    }
  } catch (error) {
    if (error instanceof GuestThrow || error instanceof EngineFault) throw error;
    if (error instanceof WebError) throw realm.throwable(engine, error.guestName, error.message);
    // Node's Intl rejects options with RangeError/TypeError; its message names only our bounded strings.
    if (error instanceof RangeError || error instanceof TypeError) throw realm.throwable(engine, error.name, error.message.slice(0, 500));
    throw realm.throwable(engine, "Error", "web host call failed");
  }
}

function bundleSource(name: string): string {
  if (!BUNDLES.has(name)) throw new WebError("TypeError", "bad web call");
  let source = bundleSources.get(name);
  if (source === undefined) {
    try {
      source = readFileSync(new URL(`${name}.js`, WEB_DIR), "utf8");
    } catch {
      throw new WebError("Error", `the guest source of the web globals is missing (dist/web/${name}.js); run \`node scripts/build.mjs\` first`);
    }
    bundleSources.set(name, source);
  }
  return source;
}

/** A string argument, its length checked before it is read. */
function stringArg(engine: Engine, args: readonly GuestRef[], i: number, max: number): string {
  const ref = args[i];
  if (ref === undefined || engine.typeOf(ref) !== "string") throw new WebError("TypeError", "bad web call");
  const lengthRef = engine.getProp(ref, "length");
  const length = engine.getNumber(lengthRef);
  engine.free(lengthRef);
  if (!(length <= max)) throw new WebError("RangeError", `argument too long (${length} characters; at most ${max})`);
  return engine.getString(ref);
}

/** Most UTF-16 units of a string handed to the text natives (the guest's memory limit bounds it first). */
const MAX_TEXT = 256 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*$/;
const LATIN1 = /^[\x01-\xff]*$/;

/**
 * A string read whole: the engine hands strings over as C strings, cut at the
 * first NUL, so the length read before must match (the guest sends no NUL).
 */
function wholeString(engine: Engine, ref: GuestRef | undefined): string {
  const text = stringArg(engine, ref === undefined ? [] : [ref], 0, MAX_TEXT);
  const lengthRef = engine.getProp(ref!, "length");
  const length = engine.getNumber(lengthRef);
  engine.free(lengthRef);
  if (text.length !== length) throw new WebError("TypeError", "bad web call");
  return text;
}

/** A fresh ArrayBuffer's bytes, copied out of the guest heap. */
function bufferArg(engine: Engine, ref: GuestRef | undefined): Uint8Array {
  if (ref === undefined || engine.typeOf(ref) !== "object") throw new WebError("TypeError", "bad web call");
  try {
    return engine.getArrayBuffer(ref);
  } catch (error) {
    if (error instanceof EngineFault) throw error;
    throw new WebError("TypeError", "bad web call");
  }
}

function numberArg(engine: Engine, args: readonly GuestRef[], i: number): number {
  const ref = args[i];
  if (ref === undefined || engine.typeOf(ref) !== "number") throw new WebError("TypeError", "bad web call");
  return engine.getNumber(ref);
}

function digest(engine: Engine, args: readonly GuestRef[]): Uint8Array {
  const algorithm = DIGESTS[stringArg(engine, args, 1, 16)];
  const ref = args[2];
  if (algorithm === undefined || ref === undefined || engine.typeOf(ref) !== "object") throw new WebError("TypeError", "bad web call");
  const bytes = bufferArg(engine, ref);
  if (bytes.byteLength > DIGEST_MAX_BYTES) throw new WebError("RangeError", `crypto.subtle.digest: at most ${DIGEST_MAX_BYTES} bytes per call`);
  const hash = createHash(algorithm).update(bytes).digest();
  return new Uint8Array(hash.buffer, hash.byteOffset, hash.byteLength);
}

// --- Intl --------------------------------------------------------------------------

const MAX_SPEC = 4096, MAX_LOCALES = 16, MAX_TAG = 64, MAX_OPTION = 64;
const TAG = /^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$/;
const BIGINT = /^-?\d{1,1000}$/;
const MAX_TIME = 8.64e15;
const NUMBER_KEYS = new Set(["localeMatcher", "style", "currency", "currencyDisplay", "currencySign", "unit", "unitDisplay", "minimumIntegerDigits", "minimumFractionDigits", "maximumFractionDigits", "minimumSignificantDigits", "maximumSignificantDigits", "useGrouping", "notation", "compactDisplay", "signDisplay", "roundingMode", "roundingIncrement", "roundingPriority", "trailingZeroDisplay", "numberingSystem"]);
const DATE_KEYS = new Set(["localeMatcher", "calendar", "numberingSystem", "hour12", "hourCycle", "timeZone", "weekday", "era", "year", "month", "day", "dayPeriod", "hour", "minute", "second", "fractionalSecondDigits", "timeZoneName", "formatMatcher", "dateStyle", "timeStyle"]);
/** The guest's defaults: fixed, so output never depends on the host machine. */
const DEFAULT_LOCALE = "en-US";
const DEFAULT_TIME_ZONE = "UTC";

interface IntlSpec {
  readonly locales: string[];
  readonly options: Record<string, string | number | boolean>;
}

/** Formatters by kind and spec text; a small LRU, so a guest cycling specs costs only re-creation. */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
const FORMATTER_CACHE = 128;

function parseSpec(text: string, keys: ReadonlySet<string>): IntlSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WebError("TypeError", "bad web call");
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new WebError("TypeError", "bad web call");
  const [locales, options] = parsed as [unknown, unknown];
  if (!Array.isArray(locales) || locales.length > MAX_LOCALES) throw new WebError("RangeError", `Intl: at most ${MAX_LOCALES} locales`);
  for (const tag of locales) {
    if (typeof tag !== "string" || tag.length > MAX_TAG || !TAG.test(tag)) throw new WebError("RangeError", "Incorrect locale information provided");
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new WebError("TypeError", "bad web call");
  const copy: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!keys.has(key)) throw new WebError("TypeError", "bad web call");
    if (typeof value === "string" ? value.length > MAX_OPTION : typeof value !== "number" && typeof value !== "boolean") throw new WebError("RangeError", `Intl: bad value for option ${key}`);
    copy[key] = value;
  }
  return { locales: locales as string[], options: copy };
}

function formatter(kind: "number" | "date", specText: string, spec: IntlSpec): Intl.NumberFormat | Intl.DateTimeFormat {
  const key = `${kind}\0${specText}`;
  let made = formatters.get(key);
  if (made) {
    formatters.delete(key);
  } else {
    const locales = spec.locales.length > 0 ? spec.locales : [DEFAULT_LOCALE];
    made = kind === "number" ? new Intl.NumberFormat(locales, spec.options) : new Intl.DateTimeFormat(locales, { timeZone: DEFAULT_TIME_ZONE, ...spec.options });
    if (formatters.size >= FORMATTER_CACHE) formatters.delete(formatters.keys().next().value!);
  }
  formatters.set(key, made);
  return made;
}

function numberValue(engine: Engine, ref: GuestRef | undefined): number | bigint {
  if (ref !== undefined && engine.typeOf(ref) === "number") return engine.getNumber(ref);
  if (ref !== undefined && engine.typeOf(ref) === "string") {
    const text = stringArgOf(engine, ref, 1001);
    if (BIGINT.test(text)) return BigInt(text);
  }
  throw new WebError("TypeError", "bad web call");
}

function timeValue(engine: Engine, ref: GuestRef | undefined): number {
  if (ref === undefined || engine.typeOf(ref) !== "number") throw new WebError("TypeError", "bad web call");
  const t = engine.getNumber(ref);
  if (!Number.isFinite(t) || Math.abs(t) > MAX_TIME) throw new WebError("RangeError", "Invalid time value");
  return t;
}

function stringArgOf(engine: Engine, ref: GuestRef, max: number): string {
  return stringArg(engine, [ref], 0, max);
}

function intlCall(engine: Engine, args: readonly GuestRef[]): unknown {
  const kind = stringArg(engine, args, 1, 8);
  if (kind !== "number" && kind !== "date") throw new WebError("TypeError", "bad web call");
  const specText = stringArg(engine, args, 2, MAX_SPEC);
  const spec = parseSpec(specText, kind === "number" ? NUMBER_KEYS : DATE_KEYS);
  const op = stringArg(engine, args, 3, 24);
  switch (op) {
    case "supportedLocalesOf":
      return kind === "number" ? Intl.NumberFormat.supportedLocalesOf(spec.locales) : Intl.DateTimeFormat.supportedLocalesOf(spec.locales);
    case "getCanonicalLocales":
      return Intl.getCanonicalLocales(spec.locales);
    case "resolvedOptions":
      return { ...formatter(kind, specText, spec).resolvedOptions() };
  }
  if (kind === "number") {
    const nf = formatter(kind, specText, spec) as Intl.NumberFormat;
    if (op === "format") return nf.format(numberValue(engine, args[4]));
    if (op === "formatToParts") return nf.formatToParts(numberValue(engine, args[4])).map((p) => ({ ...p }));
    throw new WebError("TypeError", "bad web call");
  }
  const t = timeValue(engine, args[4]);
  if (op === "toLocaleString" || op === "toLocaleDateString" || op === "toLocaleTimeString") {
    const locales = spec.locales.length > 0 ? spec.locales : [DEFAULT_LOCALE];
    return new Date(t)[op](locales, { timeZone: DEFAULT_TIME_ZONE, ...spec.options });
  }
  const df = formatter(kind, specText, spec) as Intl.DateTimeFormat;
  if (op === "format") return df.format(t);
  if (op === "formatToParts") return df.formatToParts(t).map((p) => ({ ...p }));
  if (op === "formatRange") return df.formatRange(t, timeValue(engine, args[5]));
  throw new WebError("TypeError", "bad web call");
}
