/**
 * A short description of a thrown non-Error guest value, for error messages.
 *
 * Invariant: describing a guest-derived value runs no code of it and costs
 * O(1) in its size. The old preview stringified the value: `JSON.stringify`
 * called a guest `toJSON` (outside any call's deadline) and walked a shared
 * DAG of 2^40 nodes. This one reads only the value's type, at most a few own
 * keys and a bounded prefix of a string — and never calls anything the value
 * could have supplied (decoded copies hold data properties only).
 *
 * @packageDocumentation
 */

const MAX_TEXT = 200;
const MAX_KEYS = 5;
const MAX_KEY = 40;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** E.g. `"oops"`, `42`, `12345678901234567890n`, `an object with keys a, b`, `an array of 3 items`. */
export function describeThrown(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(clip(value, MAX_TEXT));
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint": {
      // Hexadecimal is linear; a huge decimal conversion is not.
      const hex = (value < 0n ? -value : value).toString(16);
      return hex.length <= 24 ? `${value}n` : `${value < 0n ? "-" : ""}0x${hex.slice(0, 24)}…n (${hex.length * 4} bits)`;
    }
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      break;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
  if (value instanceof Map) return `a Map of ${value.size} entr${value.size === 1 ? "y" : "ies"}`;
  if (value instanceof Set) return `a Set of ${value.size} item${value.size === 1 ? "" : "s"}`;
  if (value instanceof Date) {
    const time = Date.prototype.getTime.call(value);
    return Number.isNaN(time) ? "an invalid Date" : `a Date (${Date.prototype.toISOString.call(value)})`;
  }
  if (value instanceof RegExp) return "a RegExp";
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `binary data (${(value as ArrayBufferLike).byteLength} bytes)`;
  const keys: string[] = [];
  for (const key in value as object) {
    if (keys.length === MAX_KEYS) {
      keys.push("…");
      break;
    }
    keys.push(JSON.stringify(clip(key, MAX_KEY)));
  }
  return keys.length === 0 ? "an object" : `an object with keys ${keys.join(", ")}`;
}
