/**
 * Values between the host and a Python guest: tagged JSON, copied both ways.
 *
 * Invariant: the host never parses, walks or stringifies guest bytes without a
 * bound — the text is size-checked before `JSON.parse` (by the caller), and
 * {@link fromGuest} refuses nesting deeper than {@link MAX_DEPTH} and unknown
 * tags. No host object is ever handed to the guest: {@link toGuest} accepts
 * only plain data and throws {@link CloneError} for anything else.
 *
 * | Python                    | JavaScript                          |
 * |---------------------------|-------------------------------------|
 * | None                      | null (undefined goes in as None)    |
 * | bool, str                 | boolean, string                     |
 * | int (up to 4,300 digits)  | number when safe, else bigint       |
 * | float (nan, ±inf too)     | number                              |
 * | bytes, bytearray          | Uint8Array                          |
 * | list, tuple               | Array                               |
 * | set, frozenset            | Set                                 |
 * | dict of str keys          | plain object                        |
 * | any other dict            | Map                                 |
 *
 * @packageDocumentation
 */
import { CloneError } from "../host/errors.js";

/** Deeper values are refused both ways (the Python side uses the same bound). */
export const MAX_DEPTH = 200;

/**
 * Digits of the largest int that crosses (CPython's own default `int_max_str_digits`, set for the same
 * reason): decimal → BigInt is quadratic, and 100,000 digits cost the host thread ~36 ms, so one 8 MiB
 * request of them froze the host's event loop for seconds. The Python side refuses the same.
 */
export const MAX_BIGINT_DIGITS = 4300;
const BIGINT_TEXT = new RegExp(`^-?\\d{1,${MAX_BIGINT_DIGITS}}$`);

/** Decode a parsed guest value. Throws CloneError on anything malformed. */
export function fromGuest(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new CloneError(`value nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === "string" || typeof value === "boolean" || typeof value === "number") return value;
  if (Array.isArray(value)) return value.map((item) => fromGuest(item, depth + 1));
  if (typeof value !== "object") throw new CloneError("malformed value from the guest");
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0]!.startsWith("$")) {
    const tag = keys[0]!;
    const inner = record[tag];
    switch (tag) {
      case "$bytes":
        if (typeof inner !== "string") break;
        return new Uint8Array(Buffer.from(inner, "base64"));
      case "$bigint":
        if (typeof inner !== "string" || inner.length > MAX_BIGINT_DIGITS + 1 || !BIGINT_TEXT.test(inner)) break;
        return BigInt(inner);
      case "$float":
        if (inner === "nan") return Number.NaN;
        if (inner === "inf") return Number.POSITIVE_INFINITY;
        if (inner === "-inf") return Number.NEGATIVE_INFINITY;
        break;
      case "$set":
        if (!Array.isArray(inner)) break;
        return new Set(inner.map((item) => fromGuest(item, depth + 1)));
      case "$dict": {
        if (!Array.isArray(inner)) break;
        const map = new Map<unknown, unknown>();
        for (const pair of inner) {
          if (!Array.isArray(pair) || pair.length !== 2) throw new CloneError("malformed dict from the guest");
          map.set(fromGuest(pair[0], depth + 1), fromGuest(pair[1], depth + 1));
        }
        return map;
      }
      case "$callable":
      case "$opaque":
        // Only module namespaces carry these; python-rexec.ts turns them into functions.
        if (typeof inner === "string") return { [tag]: inner };
        break;
    }
    throw new CloneError(`malformed ${tag.slice(0, 20)} value from the guest`);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    // defineProperty: a guest key "__proto__" must stay a plain own property.
    Object.defineProperty(out, key, { value: fromGuest(record[key], depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Encode a host value for the guest. Throws CloneError for anything but plain data. */
export function toGuest(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new CloneError(`value nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      return { $float: Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf" };
    case "bigint":
      return { $bigint: value.toString() };
    case "object":
      break;
    default:
      throw new CloneError(`a ${typeof value} cannot be copied into a Python sandbox`);
  }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (Array.isArray(value)) return value.map((item) => toGuest(item, depth + 1));
  if (value instanceof Set) return { $set: [...value].map((item) => toGuest(item, depth + 1)) };
  if (value instanceof Map) return { $dict: [...value].map(([k, v]) => [toGuest(k, depth + 1), toGuest(v, depth + 1)]) };
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new CloneError(`a ${Object.prototype.toString.call(value)} cannot be copied into a Python sandbox (plain data only)`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([key]) => key.startsWith("$"))) {
    return { $dict: entries.map(([k, v]) => [k, toGuest(v, depth + 1)]) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) Object.defineProperty(out, key, { value: toGuest(item, depth + 1), enumerable: true, writable: true, configurable: true });
  return out;
}
